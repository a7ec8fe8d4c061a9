"""The worker loop: claim a due job, run its handler outside any transaction, record the result; then
the outbox's due deliveries (app/delivery/outbox.py), which follow the same claim–send–record cycle."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from flask import current_app

from app.db import intending_to_write
from app.delivery import jobs, mail, outbox, wakeup
from app.delivery.models import Job
from app.extensions import db

#: kind → handler(payload). Domains register theirs with ``register_handler`` (the worker never
#: imports them, so delivery stays below every domain that uses it).
HANDLERS: dict[str, Callable[[dict], None]] = {mail.KIND: mail.send}
PERMANENT_ERRORS: tuple[type[Exception], ...] = (jobs.PermanentJobFailure,)


def register_handler(kind: str, handler: Callable[[dict], None]) -> None:
    """A handler either sends outside any transaction (mail) or runs its own transaction and commits."""
    HANDLERS[kind] = handler


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job: Job) -> None:
    handler = HANDLERS.get(job.kind)
    payload = dict(job.payload)
    job_id, kind = job.id, job.kind
    # End the claim's transaction before the slow, external part: a send must never hold a lock.
    db.session.commit()
    try:
        if handler is None:
            raise jobs.PermanentJobFailure(f"no handler for job kind {kind!r}")
        handler(payload)
    except PERMANENT_ERRORS as exc:
        db.session.rollback()
        _record(job_id, error=f"{type(exc).__name__}: {exc}", permanent=True)
    except Exception as exc:  # noqa: BLE001 — any other failure is retried with backoff
        db.session.rollback()
        current_app.logger.warning("job %s (%s) failed: %s", job_id, kind, exc)
        _record(job_id, error=f"{type(exc).__name__}: {exc}", permanent=False)
    else:
        _record(job_id, error=None)


def _record(job_id: int, *, error: str | None, permanent: bool = False) -> None:
    job = db.session.get(Job, job_id)
    if error is None:
        jobs.mark_done(job)
    else:
        jobs.mark_failed(job, error, permanent=permanent)
    db.session.commit()


def run_due(limit: int | None = None) -> int:
    """Run every job, then every delivery, that is due now (at most ``limit`` of each); return how many ran.

    Jobs first: sealing a case is a job, and it writes the deliveries this same pass then sends.
    """
    me = worker_id()
    count = 0
    with intending_to_write():
        while limit is None or count < limit:
            job = jobs.claim_next(me)
            if job is None:
                break
            run_job(job)
            count += 1
        count += outbox.deliver_due(me, limit)
    return count


def run_forever(poll_seconds: float | None = None) -> None:
    """Run passes until stopped; between idle passes, wait for a commit that adds work (app/delivery/wakeup.py),
    or ``poll_seconds`` for what comes due by the clock (retries, expired leases)."""
    if poll_seconds is None:
        poll_seconds = float(current_app.config["MADOGUCHI_WORKER_POLL_SECONDS"])
    # Listening starts before the first pass: work committed during a pass wakes the wait that follows it.
    waiter = wakeup.waiter()
    try:
        while True:
            if run_due() == 0:
                waiter.wait(poll_seconds)
    finally:
        waiter.close()
