"""The worker loop: claim a due job, run its handler, commit the job's work with its result; then the
other work sources (the delivery outbox), which follow their own claim–send–record cycle.

The worker owns each job's transaction. A handler only flushes, like a service in a request: its
changes and the job's 'done' mark commit together, and anything it raises rolls them back. Domains
register their handlers (``register_handler``) and work sources (``register_source``); the worker
imports none of them, so it stays below every domain that uses it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from app.db import intending_to_write
from app.extensions import db
from app.jobs import faults, mail, queue, wakeup
from app.jobs.models import Job

#: kind → handler(payload).
HANDLERS: dict[str, Callable[[dict], None]] = {mail.KIND: mail.send}


@dataclass(frozen=True)
class WorkSource:
    """Work of a domain's own that the loop drives after the jobs (the delivery outbox)."""

    name: str
    #: run(worker_id, limit) → how many items it tried; runs and commits its own transactions.
    run: Callable[[str, int | None], int]
    #: due() → whether an item is due now (a read; the idle worker's wake-up asks it).
    due: Callable[[], bool]


SOURCES: dict[str, WorkSource] = {}

#: Set by SIGTERM (``request_stop``): the loop finishes the job in hand and exits.
_stopping = threading.Event()
#: Whether the loop is waiting for work (then a stop need not wait for the wait to end).
_waiting = threading.Event()


class _StopWaiting(Exception):
    """Raised by ``request_stop`` into an idle worker's wait."""


def request_stop(*_signal_args) -> None:
    """A signal handler for SIGTERM (systemd's stop, a rolling upgrade): finish the job or delivery in hand,
    claim nothing more, exit; an idle worker exits at once. A worker killed instead (SIGKILL, a power cut)
    loses nothing either: what it held is taken over when its lease runs out, later."""
    _stopping.set()
    if _waiting.is_set():
        raise _StopWaiting()


def register_handler(kind: str, handler: Callable[[dict], None]) -> None:
    """``handler(payload)`` flushes its changes; the worker commits them with the job's result. A handler
    that sends (mail) does its I/O outside any transaction of its own."""
    HANDLERS[kind] = handler


def register_source(source: WorkSource) -> None:
    SOURCES[source.name] = source


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job: Job) -> None:
    handler = HANDLERS.get(job.kind)
    payload = dict(job.payload)
    job_id, kind = job.id, job.kind
    faults.job_attempt.set(job.attempts)
    # End the claim's transaction before the slow part: a send must never hold a lock.
    db.session.commit()
    if handler is None:
        # During a rolling upgrade a newer node may enqueue a kind this (older) worker does not know: it is
        # left for a worker that does, retried with backoff, and dead only after its last attempt.
        current_app.logger.warning("job %s: no handler for kind %r here; left for another worker", job_id, kind)
        _record_failure(job_id, f"no handler for job kind {kind!r} in this worker", permanent=False)
        return
    try:
        handler(payload)
        queue.mark_done(db.session.get(Job, job_id))
        db.session.commit()
    except queue.PermanentJobFailure as exc:
        db.session.rollback()
        if exc.after_rollback is not None:
            exc.after_rollback()
        _record_failure(job_id, f"{type(exc).__name__}: {exc}", permanent=True)
    except Exception as exc:  # noqa: BLE001 — any other failure is retried with backoff
        db.session.rollback()
        current_app.logger.warning("job %s (%s) failed: %s", job_id, kind, exc)
        _record_failure(job_id, f"{type(exc).__name__}: {exc}", permanent=False)


def _record_failure(job_id: int, error: str, *, permanent: bool) -> None:
    queue.mark_failed(db.session.get(Job, job_id), error, permanent=permanent)
    db.session.commit()


def run_due(limit: int | None = None) -> int:
    """Run every job, then every item of each work source, that is due now (at most ``limit`` of each);
    return how many ran.

    Jobs first: sealing a case is a job, and it writes the deliveries this same pass then sends.
    """
    me = worker_id()
    count = 0
    with intending_to_write():
        while (limit is None or count < limit) and not _stopping.is_set():
            job = queue.claim_next(me)
            if job is None:
                break
            run_job(job)
            count += 1
        for source in SOURCES.values():
            if _stopping.is_set():
                break
            count += source.run(me, limit)
    return count


def run_forever(poll_seconds: float | None = None) -> None:
    """Run passes until stopped (``request_stop``); between idle passes, wait for a commit that adds work
    (app/jobs/wakeup.py), or ``poll_seconds`` for what comes due by the clock (retries, expired leases)."""
    if poll_seconds is None:
        poll_seconds = float(current_app.config["MADOGUCHI_WORKER_POLL_SECONDS"])
    # Listening starts before the first pass: work committed during a pass wakes the wait that follows it.
    waiter = wakeup.waiter(lambda: wakeup.jobs_due() or any(source.due() for source in SOURCES.values()))
    try:
        while not _stopping.is_set():
            if run_due() == 0:
                _wait(waiter, poll_seconds)
    except _StopWaiting:
        pass  # SIGTERM while idle
    finally:
        waiter.close()


def _wait(waiter, poll_seconds: float) -> None:
    _waiting.set()
    try:
        if not _stopping.is_set():
            waiter.wait(poll_seconds)
    finally:
        _waiting.clear()
