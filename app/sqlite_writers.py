"""A prompt queue for SQLite's single writer lock.

Writing transactions begin with BEGIN IMMEDIATE (app.db.write_intent). When another process holds
the write lock, SQLite's busy handler does not wait for its release: it sleeps and retries on a
fixed schedule (1, 2, 5, 10, 15, 20, 25 … 100 ms), so a waiting writer oversleeps a lock held for a
few milliseconds, and a process that commits and begins again at once keeps winning while the other
sleeps. Under load that starved one gunicorn worker (submit p99 over half a second, throughput of a
single worker). So before BEGIN IMMEDIATE a writer first takes an advisory lock (flock) on a file
beside the database, polled every half millisecond, and lets it go when its transaction ends.

This only orders writers that already wait for each other; SQLite's own lock still decides. The
queue is given up after the connection's busy timeout, and the writer then waits in SQLite as
before, so a stuck holder (or a second connection of the same thread) can slow writers down but
never deadlock them. Each connection opens the file itself: flock excludes open files, not
processes, so two connections of one process also queue.
"""

from __future__ import annotations

import fcntl
import os
import time

import sqlalchemy as sa

from app.db import write_intent

POLL_SECONDS = 0.0005
_FD = "madoguchi_writer_lock_fd"
_HELD = "madoguchi_writer_lock_held"


def lock_path(url: sa.engine.URL) -> str | None:
    """The queue's file for a SQLite database file; None for an in-memory or URI-named database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers"


def install(engine: sa.engine.Engine, timeout_seconds: float) -> None:
    """Queue BEGIN IMMEDIATE on ``engine`` (call before the listener that issues the BEGIN)."""
    path = lock_path(engine.url)
    if path is None:
        return

    def acquire(connection: sa.engine.Connection) -> None:
        info = connection.connection.info
        fd = info.get(_FD)
        if fd is None:
            fd = info[_FD] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return  # wait in SQLite's busy handler instead, as without the queue
                time.sleep(POLL_SECONDS)
                continue
            info[_HELD] = True
            return

    def release(connection: sa.engine.Connection) -> None:
        if connection.invalidated:  # its DBAPI connection is closed, and the lock with it (on_close)
            return
        unlock(connection.connection.info)

    def unlock(info: dict) -> None:
        if info.pop(_HELD, False):
            fcntl.flock(info[_FD], fcntl.LOCK_UN)

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        if write_intent.get():
            acquire(connection)

    # Fired as the transaction ends (just before COMMIT or ROLLBACK is sent): a writer let in a moment
    # early meets SQLite's lock for the length of a WAL commit, about a tenth of a millisecond.
    sa.event.listen(engine, "commit", release)
    sa.event.listen(engine, "rollback", release)

    # Back in the pool without a COMMIT or ROLLBACK seen above (e.g. BEGIN itself failed): let go.
    @sa.event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, connection_record):
        if connection_record is not None:
            unlock(connection_record.info)

    @sa.event.listens_for(engine, "close")
    def on_close(dbapi_connection, connection_record):
        fd = connection_record.info.pop(_FD, None)
        connection_record.info.pop(_HELD, None)
        if fd is not None:
            os.close(fd)
