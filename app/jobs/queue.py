"""Enqueue, claim and retry jobs.

Jobs are written in the caller's transaction (so a rolled-back request sends nothing) and claimed
by the worker with an atomic conditional UPDATE: of two workers racing for one row, only the one
whose UPDATE still sees it pending (or its lease expired) gets rowcount 1. On PostgreSQL the
candidate rows are first picked with FOR UPDATE SKIP LOCKED so workers do not queue on each other.
The same claim and the same retry policy serve the delivery outbox (``app.delivery.outbox``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from app.db import utcnow
from app.extensions import db
from app.jobs import wakeup
from app.jobs.models import Job, JobState, LeasedWork

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600


class PermanentJobFailure(Exception):
    """The job can never succeed as it is (a bad address, a render that hits its limits): no retry.

    ``after_rollback``, if given, runs once the job's own changes are rolled back, in the transaction
    that marks the job dead: what staff must see of the failure (a render error on the case page).
    """

    def __init__(self, message: str = "", *, after_rollback: Callable[[], None] | None = None):
        super().__init__(message)
        self.after_rollback = after_rollback


def enqueue(kind: str, payload: dict, *, idempotency_key: str, max_attempts: int = 8) -> Job:
    """Add a job to the current transaction; an existing job with the same key is returned instead."""
    existing = db.session.scalar(sa.select(Job).where(Job.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    job = Job(kind=kind, payload=payload, idempotency_key=idempotency_key, max_attempts=max_attempts)
    db.session.add(job)
    db.session.flush()
    # Sent at commit, with the row: an idle worker claims it at once instead of at its next poll.
    wakeup.notify()
    return job


def _claimable(now: dt.datetime):
    return sa.or_(
        sa.and_(Job.state == JobState.PENDING, Job.run_after <= now),
        sa.and_(Job.state == JobState.RUNNING, Job.lease_until < now),
    )


def claim_one(model, claimable, values: dict) -> int | None:
    """Claim one due row of ``model`` (a job or a delivery) with ``values``; commit the claim; return its id.

    The conditional UPDATE repeats ``claimable``: of two workers racing for one row, only the one whose
    UPDATE still sees it claimable gets rowcount 1. On PostgreSQL the candidates are picked with
    FOR UPDATE SKIP LOCKED first, so workers do not queue on each other's rows. This commit is the
    worker's own bookkeeping: a claim must be visible before the slow part starts.
    """
    candidates = sa.select(model.id).where(claimable).order_by(model.run_after, model.id).limit(5)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    for row_id in db.session.scalars(candidates).all():
        claimed = db.session.execute(
            sa.update(model).where(model.id == row_id, claimable).values(**values)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            db.session.commit()
            return row_id
    db.session.commit()
    return None


def lease() -> dt.timedelta:
    """How long a claimed job stays its worker's; past it the worker is taken to have died and another
    claims the job (``MADOGUCHI_JOB_LEASE_SECONDS``)."""
    return dt.timedelta(seconds=current_app.config["MADOGUCHI_JOB_LEASE_SECONDS"])


def claim_next(worker_id: str) -> Job | None:
    """Claim one due job (committing the claim) or return None."""
    now = utcnow()
    job_id = claim_one(Job, _claimable(now), {"state": JobState.RUNNING, "lease_until": now + lease(),
                                               "worker_id": worker_id, "attempts": Job.attempts + 1})
    return None if job_id is None else db.session.get(Job, job_id)


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff with full jitter, so a gateway that comes back is not hit by every retry at once."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    # bandit B311: jitter, not a secret
    return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # nosec B311


def retry_or_give_up(row: LeasedWork, error: str, *, permanent: bool = False) -> bool:
    """The retry policy of every leased row (jobs and deliveries): dead after a permanent failure or its
    last attempt, else pending again after a backoff. Returns True when the row is now dead."""
    row.last_error = error[:2000]
    row.lease_until = None
    if permanent or row.attempts >= row.max_attempts:
        row.state = "dead"
        return True
    row.state = "pending"
    row.run_after = utcnow() + backoff(row.attempts)
    return False


def mark_done(job: Job) -> None:
    job.state = JobState.DONE
    job.finished_at = utcnow()
    job.lease_until = None
    job.last_error = None


def mark_failed(job: Job, error: str, *, permanent: bool = False) -> None:
    if retry_or_give_up(job, error, permanent=permanent):
        job.finished_at = utcnow()
