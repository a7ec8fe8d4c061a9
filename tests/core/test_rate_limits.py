"""M7: rate-limit counters shared by every process (the app's database; the review: ``memory://`` per
gunicorn worker), and the client's address from trusted proxies only (``MADOGUCHI_TRUSTED_PROXIES``)."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import sqlalchemy as sa
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app import create_app
from app.rate_limits import DatabaseStorage, storage_url
from tests.support import accounts as flows
from tests.support.plugin import app_config


def _count_in_another_process(url: str, key: str, times: int, queue) -> None:
    storage = storage_from_string("database://", url=url)
    queue.put([storage.incr(key, 60) for _ in range(times)])


def test_m7_counters_are_shared_by_processes_on_the_app_database(app, db):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    storage = storage_from_string("database://", url=url)
    assert isinstance(storage, DatabaseStorage) and storage.check()
    key = f"test-{time.time()}"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_count_in_another_process, args=(url, key, 25, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    counts = sorted(queue.get(timeout=60) + queue.get(timeout=60))
    for worker in workers:
        worker.join(30)
    assert counts == list(range(1, 51))  # no increment lost between the two processes
    assert storage.get(key) == 50 and storage.get_expiry(key) > time.time()
    limiter = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(50)
    assert not limiter.hit(item, key) or storage.get(key) <= 50
    storage.clear(key)
    assert storage.get(key) == 0


def test_m7_where_the_counters_live(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        # One writer per SQLite file, held by a writing request: the counters have a file of their own.
        assert storage_url(url).endswith("-ratelimits")
    else:
        assert storage_url(url) == url
        with sa.create_engine(url).connect() as connection:
            assert "rate_limit_counters" in sa.inspect(connection).get_table_names()


def test_m7_a_window_ends(app, db, monkeypatch):
    from app import rate_limits

    storage = storage_from_string("database://", url=app.config["SQLALCHEMY_DATABASE_URI"])
    clock = [time.time()]
    monkeypatch.setattr(rate_limits, "time", type("Clock", (), {"time": staticmethod(lambda: clock[0])}))
    assert [storage.incr("w", 60) for _ in range(3)] == [1, 2, 3]
    clock[0] += 61
    assert storage.get("w") == 0 and storage.incr("w", 60) == 1


@pytest.fixture
def proxied_app(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_TRUSTED_PROXIES", "1")
    application = create_app(app_config(tmp_path / "instance", database_url))
    yield application


def test_m7_behind_a_trusted_proxy_each_client_has_its_own_bucket(proxied_app, app, db):
    """The review: behind a TLS proxy every client shared one bucket (10 sign-ins a minute for the city)."""
    client = proxied_app.test_client()
    for attempt in range(10):
        flows.sign_in(client, f"guess{attempt}@example.jp", "wrong", headers={"X-Forwarded-For": "203.0.113.1"})
    first = flows.sign_in(client, "x@example.jp", "wrong", headers={"X-Forwarded-For": "203.0.113.1"})
    other = flows.sign_in(client, "x@example.jp", "wrong", headers={"X-Forwarded-For": "203.0.113.2"})
    assert first.status_code == 429 and other.status_code == 422
    # https as the proxy says: Flask-WTF's Referer check for https now runs (a POST without one is refused).
    https = {"X-Forwarded-For": "203.0.113.3", "X-Forwarded-Proto": "https"}
    refused = flows.sign_in(client, "x@example.jp", "wrong", headers=https)
    assert refused.status_code == 400


def test_m7_without_trusted_proxies_the_header_is_ignored(client, db):
    for attempt in range(10):
        spoofed = {"X-Forwarded-For": f"192.0.2.{attempt}"}
        flows.sign_in(client, f"guess{attempt}@example.jp", "wrong", headers=spoofed)
    last = flows.sign_in(client, "x@example.jp", "wrong", headers={"X-Forwarded-For": "192.0.2.99"})
    assert last.status_code == 429
