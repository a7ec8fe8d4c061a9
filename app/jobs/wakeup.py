"""Waking the idle worker when work is committed, instead of letting it sleep a whole poll interval.

PostgreSQL: whoever adds work (``queue.enqueue``, a delivery written or sent again) calls ``notify()``, which runs
``NOTIFY`` in the caller's transaction. PostgreSQL delivers it at commit and drops it on rollback, so a
request that fails wakes no one and a woken worker always finds the rows committed; several in one
transaction fold into one. The idle worker LISTENs on a connection of its own and waits on the socket
(``psycopg``'s ``notifies`` with a timeout): no CPU while idle, awake within a millisecond of the commit.
LISTEN is issued before the worker's first pass, and a notification that arrives while the worker is
busy waits on that connection, so a commit between the last claim and the wait is never missed.

SQLite has no notifications. The idle worker reads ``PRAGMA data_version`` on a connection of its own
every ``SQLITE_CHECK_SECONDS``: a counter that changes when any other connection commits, read from the
WAL index in shared memory without touching a table. Only when it changed does the worker look for due
work (one indexed query per table, in a read transaction that takes no lock), so the commits of web
requests that add no work do not make it take the write lock.

Either way a wait ends after ``MADOGUCHI_WORKER_POLL_SECONDS`` at the latest: retries whose backoff ran
out and expired leases come due by the clock, not by a commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from app.db import utcnow
from app.extensions import db
from app.jobs.models import Job

CHANNEL = "madoguchi_work"
#: How often an idle worker on SQLite looks at the database's commit counter: ~10 ms added latency on average,
#: about 1% of a core while idle.
SQLITE_CHECK_SECONDS = 0.02


def notify() -> None:
    """Wake the worker when the current transaction commits (PostgreSQL; SQLite's worker notices by itself)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(f"NOTIFY {CHANNEL}"))


def waiter(work_due: Callable[[], bool] | None = None) -> Waiter:
    """The waiter for this app's database; start it before the first pass (see the module docstring).

    ``work_due()`` says whether anything is due (SQLite's waiter asks it after a commit); jobs only by default.
    """
    if db.engine.dialect.name == "postgresql":
        return ListenWaiter()
    if db.engine.dialect.name == "sqlite":
        return DataVersionWaiter(work_due or jobs_due)
    return Waiter()


class Waiter:
    """Wait up to ``timeout`` seconds, or less when work may have been committed meanwhile."""

    def wait(self, timeout: float) -> None:
        time.sleep(timeout)

    def close(self) -> None:
        pass


def _own_connection():
    """A driver connection of the engine's configuration (its connect hooks ran), taken out of the pool for good."""
    pooled = db.engine.raw_connection()
    connection = pooled.driver_connection
    pooled.detach()
    return connection


class ListenWaiter(Waiter):
    def __init__(self):
        self._connection = None
        self._listen()

    def _listen(self) -> None:
        connection = _own_connection()
        connection.autocommit = True  # LISTEN takes effect at once, and the connection never idles in a transaction
        connection.execute(f"LISTEN {CHANNEL}")
        self._connection = connection

    def wait(self, timeout: float) -> None:
        import psycopg  # only PostgreSQL deployments load the driver

        try:
            if self._connection is None:
                self._listen()
                return  # reconnected: look for work that was committed while nobody listened
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                break
            # Drain what else has arrived: the pass that follows sees every commit that sent it.
            for _ in self._connection.notifies(timeout=0):
                pass
        except (psycopg.Error, sa.exc.DBAPIError) as exc:  # the driver's own, or SQLAlchemy's on reconnecting
            # The server restarted or the connection dropped: sleep like a polling worker, then LISTEN again.
            current_app.logger.warning("worker wake-up connection lost: %s", exc)
            self.close()
            time.sleep(timeout)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            # bandit B110: closing a broken connection may fail; it is gone
            except Exception:  # noqa: BLE001  # nosec B110
                pass
            self._connection = None


class DataVersionWaiter(Waiter):
    def __init__(self, work_due: Callable[[], bool]):
        self._work_due = work_due
        self._connection = _own_connection()
        self._seen = self._version()

    def _version(self) -> int:
        cursor = self._connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            version = self._version()
            if version != self._seen:
                self._seen = version
                if self._work_due():
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(SQLITE_CHECK_SECONDS, remaining))

    def close(self) -> None:
        self._connection.close()


def jobs_due() -> bool:
    """Whether a job is pending and due (a read; ends its transaction)."""
    return row_due(Job)


def row_due(model) -> bool:
    """Whether a leased-work row of ``model`` is pending and due (a read; ends its transaction)."""
    try:
        return db.session.scalar(sa.select(model.id).where(model.state == "pending", model.run_after <= utcnow())
                                 .limit(1)) is not None
    finally:
        db.session.rollback()
