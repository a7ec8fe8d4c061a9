"""The worker during a rolling upgrade: a job of a kind this worker does not know is left for one that does,
and SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from app import PROJECT_ROOT
from app.jobs.models import Job
from app.jobs.queue import enqueue
from tests.delivery.test_crash import worker_env


def test_a_job_of_an_unknown_kind_waits_for_a_worker_that_knows_it(db, run_worker):
    job = enqueue("tests.added_by_a_newer_release", {}, idempotency_key="rolling-upgrade:1")
    db.session.commit()
    run_worker()
    db.session.expire_all()
    job = db.session.scalar(sa.select(Job).where(Job.id == job.id))
    assert (job.state, job.attempts) == ("pending", 1)
    assert "no handler for job kind 'tests.added_by_a_newer_release'" in job.last_error
    assert job.run_after is not None and job.lease_until is None


def test_sigterm_stops_the_worker_cleanly(app, db):
    """systemd stops a worker with SIGTERM: it finishes what it holds, claims nothing more, exits 0; an idle
    worker does not first wait out its poll interval (a minute here)."""
    env = {key: value for key, value in worker_env(app).items() if value is not None}
    env["MADOGUCHI_WORKER_POLL_SECONDS"] = "60"
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    with worker.stdout:
        assert worker.stdout.readline().startswith("worker started")
        time.sleep(1)  # its first pass is done: it waits for work
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert worker.stdout.read().strip() == "worker stopped"
