"""The idle worker wakes when work is committed (app/delivery/wakeup.py), not at its next poll.

The bounds are generous on purpose: the worker here polls once a minute, so a job picked up within
seconds was picked up by the wake-up. How fast is for scripts/bench/approval.py to say.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from app import PROJECT_ROOT
from app.jobs import wakeup
from app.jobs.models import Job
from app.jobs.queue import enqueue
from tests.delivery.test_crash import worker_env

POLL_SECONDS = 60
#: A kind no handler takes: the worker claims it at once and leaves it for a worker that knows the kind (a
#: later attempt), which is all a test needs to see.
KIND = "tests.no_such_job"


def job_state(db, job_id: int) -> str:
    db.session.commit()  # a fresh snapshot: see what the worker committed
    return db.session.scalar(sa.select(Job.state).where(Job.id == job_id))


def job_attempts(db, job_id: int) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(Job.attempts).where(Job.id == job_id))


def wait_until_run(db, job_id: int, timeout: float = 20.0) -> float:
    start = time.monotonic()
    while job_attempts(db, job_id) == 0 or job_state(db, job_id) == "running":
        assert time.monotonic() - start < timeout, "the worker did not wake for a committed job"
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_running_worker_picks_up_a_committed_job_long_before_its_poll(app, db):
    # No SMTP server here (the worker sends no mail in this test): unset settings stay out of the environment.
    env = {key: value for key, value in worker_env(app).items() if value is not None}
    env["MADOGUCHI_WORKER_POLL_SECONDS"] = str(POLL_SECONDS)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        with worker.stdout:
            assert worker.stdout.readline().startswith("worker started")
            for round_ in range(3):
                time.sleep(0.5)  # the worker has done its pass and waits
                job = enqueue(KIND, {}, idempotency_key=f"wakeup-test:{round_}")
                db.session.commit()
                assert wait_until_run(db, job.id) < POLL_SECONDS / 3
                assert job_state(db, job.id) == "pending"  # it ran: no handler here, left for another worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_the_wait_ends_on_a_commit_and_not_on_a_rollback(app, db):
    waiter = wakeup.waiter()
    try:
        start = time.monotonic()
        waiter.wait(0.3)
        assert time.monotonic() - start >= 0.25  # nothing happened: the whole timeout

        enqueue(KIND, {}, idempotency_key="wakeup-test:rolled-back")
        db.session.rollback()
        start = time.monotonic()
        waiter.wait(0.3)
        assert time.monotonic() - start >= 0.25  # a request that failed wakes no one

        enqueue(KIND, {}, idempotency_key="wakeup-test:committed")
        db.session.commit()
        start = time.monotonic()
        waiter.wait(POLL_SECONDS)
        assert time.monotonic() - start < POLL_SECONDS / 3
    finally:
        waiter.close()


def test_commits_that_add_no_work_do_not_end_the_wait(app, db):
    """On SQLite every commit moves the counter the waiter watches; it still waits unless work is due."""
    from app.accounts.models import Office

    waiter = wakeup.waiter()
    try:
        db.session.add(Office(code="wakeup", name_ja="テスト課", name_en="Test"))
        db.session.commit()
        start = time.monotonic()
        waiter.wait(0.3)
        assert time.monotonic() - start >= 0.25
    finally:
        waiter.close()


def test_a_lost_listen_connection_is_replaced(app, db):
    """PostgreSQL restarted or the connection dropped: the worker polls once, then listens again."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    waiter = wakeup.waiter()
    try:
        db.session.execute(sa.select(sa.func.pg_terminate_backend(waiter._connection.info.backend_pid)))
        db.session.commit()
        waiter.wait(0.2)  # notices the loss and sleeps like a polling worker
        waiter.wait(0.2)  # listens again, and returns at once to look for work committed meanwhile
        enqueue(KIND, {}, idempotency_key="wakeup-test:after-reconnect")
        db.session.commit()
        start = time.monotonic()
        waiter.wait(POLL_SECONDS)
        assert time.monotonic() - start < POLL_SECONDS / 3
    finally:
        waiter.close()
