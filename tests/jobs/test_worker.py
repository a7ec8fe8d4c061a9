"""The worker during a rolling upgrade: a job of a kind this worker does not know is left for one that does."""

from __future__ import annotations

import sqlalchemy as sa

from app.jobs.models import Job
from app.jobs.queue import enqueue


def test_a_job_of_an_unknown_kind_waits_for_a_worker_that_knows_it(db, run_worker):
    job = enqueue("tests.added_by_a_newer_release", {}, idempotency_key="rolling-upgrade:1")
    db.session.commit()
    run_worker()
    db.session.expire_all()
    job = db.session.scalar(sa.select(Job).where(Job.id == job.id))
    assert (job.state, job.attempts) == ("pending", 1)
    assert "no handler for job kind 'tests.added_by_a_newer_release'" in job.last_error
    assert job.run_after is not None and job.lease_until is None
