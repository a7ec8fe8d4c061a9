#!/usr/bin/env python
"""Approval: the approve click, click → step sealed, and last click → organisation seal and deliveries.

Targets (issue 6), with a running worker: the click returns in ≤ 50 ms median; click → the step's
seal applied ≤ 150 ms median; the last click → the organisation seal applied, the case approved and
its delivery rows written ≤ 250 ms median. No baseline.

How: a throwaway instance (SQLite, and PostgreSQL when MADOGUCHI_BENCH_PG_URL is set) with the seal
PKI, a clerk and an approver of 市民課, and 住民票 requests (two steps: 受付 by a clerk, 決裁 by an
approver) submitted and put into review by a real ``flask worker`` subprocess, which keeps running.
The clicks are real POSTs (session, CSRF, the fresh second factor) through an in-process Flask client
on the same database; a click is the request's duration. After each click this process polls the
database every 2 ms (5 ms on PostgreSQL; its own connection) for the step's seal record, and after the last step's click
for the case approved with its delivery rows. Samples are serial: before each click the worker has
gone idle again (it also sends the deliveries, which must not queue in front of the next seal).

    .venv/bin/python scripts/bench/approval.py [--quick] [--profile]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback

import benchlib
import sqlalchemy as sa

from tests.support.http import csrf_token
from tests.support.staff import sign_in_staff

PASSWORD = "approval bench password 2026"
#: How often the bench looks for the worker's result. On PostgreSQL each look is a round trip to a server
#: process that competes with the worker for the same cores, so it looks less often there.
POLL = {"sqlite": 0.002, "postgresql": 0.005}
CLICK_TARGET, STEP_TARGET, LAST_TARGET = 50.0, 150.0, 250.0


class Timeout(Exception):
    pass


def wait_for(check, timeout: float = 60.0, interval: float = 0.002, worker: subprocess.Popen | None = None):
    """Call ``check`` every ``interval`` seconds until it returns something true; return that."""
    deadline = time.perf_counter() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.perf_counter() > deadline:
            raise Timeout(f"timed out waiting for {check.__name__}")
        if worker is not None and worker.poll() is not None:
            log = getattr(worker, "log_path", None)
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"the worker exited with status {worker.returncode}:\n{tail}")
        time.sleep(interval)


def seed(app, count: int) -> tuple[dict, list[int]]:
    """Staff (clerk, approver) and ``count`` submitted cases of the tests' delivery form (a 市民課 route of
    two steps and three destinations, consented to); the worker puts them into review."""
    from app.accounts import staff_service
    from app.demo.answers import fill
    from app.extensions import db
    from app.submissions import service as submissions
    from tests.support.accounts import make_resident
    from tests.support.catalogue import DELIVERY_CONSENTS, sync_test_forms

    staff = {}
    with app.app_context():
        sync_test_forms(db)
        for role in ("clerk", "approver"):
            member, password, secret = staff_service.create_staff(
                f"{role}@bench.example.lg.jp", f"ベンチ {role}", "shimin", [role], PASSWORD, enrolled=True)
            staff[role] = (member.email, password, secret)
        db.session.commit()
        resident = make_resident(db, "resident@bench.example.jp")
        ids = []
        for _ in range(count):
            draft = fill(resident, "delivery-test")
            submissions.submit(draft, DELIVERY_CONSENTS)
            ids.append(draft.id)
        db.session.commit()
    return staff, ids


class Probe:
    """The bench's own connection to the instance database, for polling what the worker did."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(url)

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()

    def states(self, ids: list[int]) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT state, count(*) FROM submissions WHERE id IN :ids GROUP BY state")
                                      .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids})
            return dict(rows.tuples().all())

    def approval(self, submission_id: int) -> int | None:
        """The approval just decided (state 'approved' or later) at the case's latest step."""
        return self.scalar("SELECT id FROM approvals WHERE submission_id = :s AND decided_at IS NOT NULL "
                           "ORDER BY decided_at DESC, id DESC LIMIT 1", s=submission_id)

    def sealed(self, approval_id: int) -> bool:
        return bool(self.scalar("SELECT count(*) FROM seal_records WHERE approval_id = :a", a=approval_id))

    def approved_with_deliveries(self, submission_id: int) -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM submissions s WHERE s.id = :s AND s.state = 'approved' "
            "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.submission_id = s.id)", s=submission_id))

    def idle(self) -> bool:
        """Nothing due for the worker: no job waiting or running, no delivery pending or being sent now."""
        now = _now_param(self.engine)
        jobs = self.scalar("SELECT count(*) FROM jobs WHERE state = 'running' "
                           "OR (state = 'pending' AND run_after <= :n)", n=now)
        deliveries = self.scalar("SELECT count(*) FROM deliveries WHERE state = 'sending' "
                                 "OR (state = 'pending' AND run_after <= :n)", n=now)
        return jobs == 0 and deliveries == 0

    def dispose(self) -> None:
        self.engine.dispose()


def _now_param(engine):
    from app.db import utcnow

    # SQLAlchemy stores UTC datetimes as text on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff"): compare like with like.
    now = utcnow()
    return now.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else now


def start_worker(instance: benchlib.Instance) -> subprocess.Popen:
    path = instance.folder / "worker.log"
    with path.open("w") as log:
        worker = subprocess.Popen([str(benchlib.VENV_BIN / "flask"), "worker"], cwd=benchlib.ROOT,
                                  env={**instance.env, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT)
    worker.log_path = path
    return worker


def run(database: str, database_url: str | None, count: int, *, profile: bool = False) -> list[benchlib.Result]:
    instance = benchlib.Instance(database_url).setup(seals=True)
    worker = None
    probe = Probe(instance.database_url)
    try:
        app = instance.app()
        staff, ids = seed(app, count + 1)  # the first case warms the request path and the worker up
        worker = start_worker(instance)
        print(f"[{database}] waiting for the worker to render {len(ids)} documents", flush=True)
        wait_for(lambda: probe.states(ids).get("in_review") == len(ids), timeout=60 + 10 * len(ids), interval=0.2,
                 worker=worker)
        clients = {}
        for role, (email, password, secret) in staff.items():
            clients[role] = app.test_client()
            with app.app_context():
                sign_in_staff(clients[role], email, password, secret)
        csrf = {role: csrf_token(client.get(f"/office/cases/{ids[0]}")) for role, client in clients.items()}

        clicks, steps, lasts = [], [], []
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
        for index, submission_id in enumerate(ids):
            for role in ("clerk", "approver"):
                wait_for(probe.idle, interval=0.005, worker=worker)
                if profiler and index:
                    profiler.enable()
                start = time.perf_counter()
                response = clients[role].post(f"/office/cases/{submission_id}/approve", data={"csrf_token": csrf[role]})
                clicked = time.perf_counter()
                if profiler:
                    profiler.disable()
                assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:300])
                approval_id = probe.approval(submission_id)
                wait_for(lambda approval_id=approval_id: probe.sealed(approval_id), interval=POLL[database])
                sealed = time.perf_counter()
                if role == "approver":
                    wait_for(lambda submission_id=submission_id: probe.approved_with_deliveries(submission_id),
                             interval=POLL[database])
                    done = time.perf_counter()
                if index == 0:
                    continue  # warm-up
                clicks.append((clicked - start) * 1000)
                steps.append((sealed - start) * 1000)
                if role == "approver":
                    lasts.append((done - start) * 1000)
        if profiler:
            import pstats

            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see {instance.folder / 'worker.log'}")
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        probe.dispose()
        instance.cleanup()

    def row(name, samples, target):
        median, _ = benchlib.summary(samples)
        return benchlib.result(f"{name} ({database})", samples, "ms", f"median <= {target:g} ms", median <= target)

    return [
        row("approve click", clicks, CLICK_TARGET),
        row("click → step sealed", steps, STEP_TARGET),
        row("last click → org seal + deliveries", lasts, LAST_TARGET),
    ]


def main() -> None:
    args = benchlib.arguments(__doc__.splitlines()[0], profile={"action": "store_true",
                                                               "help": "profile the approve requests (cProfile)"})
    count = 10 if args.quick else 50
    databases = [("sqlite", None)] + ([("postgresql", benchlib.pg_url())] if benchlib.pg_url() else [])
    results, failed = [], []
    for database, url in databases:
        try:
            results += run(database, url, count, profile=args.profile)
        except Exception:  # noqa: BLE001 — report the other database's figures, then fail
            traceback.print_exc()
            failed.append(database)
    benchlib.report("approval", results)
    # Context for the figures: on a shared 2-core machine they move with what else is running.
    print("load average (1, 5, 15 min): " + ", ".join(f"{value:.2f}" for value in os.getloadavg()))
    if failed:
        sys.exit(f"approval: the run on {', '.join(failed)} failed")


if __name__ == "__main__":
    main()
