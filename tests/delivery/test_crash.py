"""Kill the worker mid-delivery (SIGKILL, as a power cut or the OOM killer would) and prove that nothing is
lost: after the lease expires a clean worker delivers everything, at most the in-doubt message of each
kill arrives twice, and every repeat carries the 再送 mark with the same idempotency key and Message-ID.

The worker runs as a subprocess (``flask worker``) on the test database and instance folder. The fault
points are MADOGUCHI_FAULT_INJECTION=after_claim|after_send (test only; app/delivery/outbox.py).
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from app import PROJECT_ROOT
from app.delivery.models import Destination
from tests.support.delivery import GATEWAY, deliveries, point_webhook, queue_to

LEASE_SECONDS = 1.0


def worker_env(app, fault: str | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MADOGUCHI_", "FLASK_"))}
    config = app.config
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "MADOGUCHI_INSTANCE_PATH": config["INSTANCE_PATH"],
        "MADOGUCHI_ENV": "development",
        "SECRET_KEY": config["SECRET_KEY"],
        "MADOGUCHI_KEY_PASSPHRASE": config["MADOGUCHI_KEY_PASSPHRASE"],
        "MADOGUCHI_FIELD_KEY": config["MADOGUCHI_FIELD_KEY"],
        "MADOGUCHI_WEBHOOK_SECRET": config["MADOGUCHI_WEBHOOK_SECRET"],
        "MADOGUCHI_BASE_URL": config["MADOGUCHI_BASE_URL"],
        "SMTP_URL": config["SMTP_URL"],
        "MADOGUCHI_FAX_GATEWAY": GATEWAY,
        "MADOGUCHI_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "MADOGUCHI_WORKER_POLL_SECONDS": "0.05",
        "PYTHONUNBUFFERED": "1",
    })
    if fault:
        env["MADOGUCHI_FAULT_INJECTION"] = fault
    return env


def start_worker(app, *args: str, fault: str | None = None, watch: bool = False) -> subprocess.Popen:
    """``watch``: stdout is a pipe, to wait for "worker started"; the caller closes it."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker", *args], cwd=PROJECT_ROOT,
        env=worker_env(app, fault), stdout=subprocess.PIPE if watch else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True,
    )


def arrivals(smtp_server, webhook) -> dict[str, list[dict]]:
    """Every delivery that reached a receiver, by idempotency key, in order of arrival."""
    found = collections.defaultdict(list)
    for message in list(smtp_server.messages):
        key = message["X-Madoguchi-Idempotency-Key"]
        if key:  # the residents' notification mails of the jobs queue arrive here too
            found[key].append({"attempt": int(message["X-Madoguchi-Attempt"]), "id": message["Message-ID"],
                               "marked": "再送" in message["Subject"]})
    for post in list(webhook.received):
        attempt = post["body"]["attempt"]
        found[post["headers"]["webhook-id"]].append({"attempt": attempt, "id": None, "marked": attempt > 1})
    return found


def clean_run(db, run_worker) -> None:
    """After the killed worker's lease has passed, one ordinary worker run must finish everything."""
    time.sleep(LEASE_SECONDS + 0.2)
    db.session.commit()
    run_worker()


def assert_invariants(db, smtp_server, webhook, *, kills: int) -> dict[str, list[dict]]:
    rows = deliveries(db)
    assert {row.state for row in rows} == {"sent"}, [(r.id, r.state, r.last_error) for r in rows]
    got = arrivals(smtp_server, webhook)
    assert set(got) == {row.idempotency_key for row in rows}  # every message delivered, none lost
    assert sum(len(copies) - 1 for copies in got.values()) <= kills  # at most one in-doubt repeat per kill
    for key, copies in got.items():
        attempts = [copy["attempt"] for copy in copies]
        assert len(set(attempts)) == len(attempts), (key, attempts)  # each claim sends at most once
        assert len({copy["id"] for copy in copies}) == 1  # the same Message-ID on every copy
        # The first copy may be a second attempt (killed before it sent); every repeat is marked.
        assert all(copy["marked"] and copy["attempt"] > 1 for copy in copies[1:]), (key, copies)
    return got


@pytest.fixture
def receivers(db, approved, smtp_server, webhook):
    point_webhook(db, webhook.url)
    return smtp_server, webhook


def test_killed_after_claiming(app, db, approved, receivers, run_worker):
    smtp_server, webhook = receivers
    worker = start_worker(app, "--once", fault="after_claim")
    assert worker.wait(timeout=120) == -signal.SIGKILL
    [claimed] = [row for row in deliveries(db) if row.state == "sending"]
    assert claimed.attempts == 1 and arrivals(smtp_server, webhook) == {}

    clean_run(db, run_worker)
    got = assert_invariants(db, smtp_server, webhook, kills=1)
    assert all(len(copies) == 1 for copies in got.values())  # it never went out: no duplicate at all
    assert got[claimed.idempotency_key] == [{**got[claimed.idempotency_key][0], "attempt": 2, "marked": True}]


def test_killed_after_sending_before_recording(app, db, approved, receivers, run_worker):
    smtp_server, webhook = receivers
    worker = start_worker(app, "--once", fault="after_send")
    assert worker.wait(timeout=120) == -signal.SIGKILL
    [in_doubt] = [row for row in deliveries(db) if row.state == "sending"]
    assert [copy["attempt"] for copy in arrivals(smtp_server, webhook)[in_doubt.idempotency_key]] == [1]

    clean_run(db, run_worker)
    got = assert_invariants(db, smtp_server, webhook, kills=1)
    # The one in-doubt message arrives twice; the second says 再送; everything else once.
    assert [(c["attempt"], c["marked"]) for c in got[in_doubt.idempotency_key]] == [(1, False), (2, True)]
    assert all(len(copies) == 1 for key, copies in got.items() if key != in_doubt.idempotency_key)


def test_killed_at_random_moments(app, db, approved, receivers, run_worker):
    smtp_server, webhook = receivers
    seed = random.randrange(1_000_000)
    chance = random.Random(seed)
    kills = 0
    for round_ in range(10):
        # New work every round, so the kills land among claims, renders and sends, not on an idle loop.
        for channel, contact in (("fax_email", {"fax_number": f"06-0000-{round_:04d}"}),
                                 ("email", {"email": f"office{round_}@example.jp"})):
            destination = Destination(code=f"r{round_}-{channel}", name_ja=f"送付先{round_}",
                                      name_en=f"Office {round_}", channel=channel, **contact)
            db.session.add(destination)
            queue_to(db, approved, destination)
        # Ten kills could all land on one slow fax; each counts as an attempt, and a row that has used
        # them all waits for a person (a worker that dies on it every time must stop somewhere).
        for row in deliveries(db):
            row.max_attempts = 20
        db.session.commit()
        worker = start_worker(app, watch=True)
        with worker.stdout:
            assert worker.stdout.readline().startswith("worker started"), f"seed {seed}"
            time.sleep(chance.uniform(0, 0.3))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        kills += 1

    clean_run(db, run_worker)
    got = assert_invariants(db, smtp_server, webhook, kills=kills)
    assert len(got) == 3 + 20, f"seed {seed}"
