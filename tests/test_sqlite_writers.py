"""SQLite writers queue on a lock file before BEGIN IMMEDIATE (app/sqlite_writers.py)."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
import sqlalchemy as sa

from app import sqlite_writers
from app.db import intending_to_write
from app.extensions import db as _db


@pytest.fixture
def engine(app, db):
    engine = _db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    db.session.commit()  # the test's own session holds no transaction
    return engine


def lock_is_free(engine) -> bool:
    fd = os.open(sqlite_writers.lock_path(engine.url), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_only_writing_transactions_hold_the_queue_and_only_until_they_end(engine):
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))  # a deferred (read) transaction
        assert lock_is_free(engine)
        connection.rollback()
        with intending_to_write():
            connection.execute(sa.text("SELECT 1"))
        assert not lock_is_free(engine)
        connection.commit()
        assert lock_is_free(engine)
        with intending_to_write():
            connection.execute(sa.text("SELECT 1"))
        connection.rollback()
        assert lock_is_free(engine)
    with intending_to_write(), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    assert lock_is_free(engine)  # closed without commit: the pool's rollback on check-in lets go


def test_a_waiting_writer_goes_as_soon_as_the_holder_commits(engine):
    order: list[str] = []
    holding = threading.Event()

    def holder():
        with intending_to_write(), engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            holding.set()
            time.sleep(1.0)  # long enough that a busy CI machine still starts the waiter inside it
            order.append("holder commits")
            connection.commit()

    def waiter():
        holding.wait(5)
        with intending_to_write(), engine.connect() as connection:
            start = time.monotonic()
            connection.execute(sa.text("SELECT 1"))
            order.append("waiter begins")
            waited = time.monotonic() - start
            connection.commit()
        order.append(f"waited {waited:.2f}")

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order[:2] == ["holder commits", "waiter begins"]
    assert 0.3 < float(order[2].split()[1]) < 3  # it did wait, and not for SQLite's next retry
    assert lock_is_free(engine)


def test_a_stuck_queue_falls_back_to_sqlites_own_wait(engine, tmp_path):
    """Someone holds the lock file without writing: a writer stops queueing after the timeout."""
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    sqlite_writers.install(other, timeout_seconds=0.2)
    fd = os.open(sqlite_writers.lock_path(other.url), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        start = time.monotonic()
        with intending_to_write(), other.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        assert 0.2 <= time.monotonic() - start < 2
    finally:
        os.close(fd)
        other.dispose()


def test_no_queue_for_an_in_memory_database():
    assert sqlite_writers.lock_path(sa.make_url("sqlite://")) is None
    assert sqlite_writers.lock_path(sa.make_url("sqlite:///:memory:")) is None
    assert sqlite_writers.lock_path(sa.make_url("sqlite:////srv/madoguchi.db")) == "/srv/madoguchi.db-writers"
