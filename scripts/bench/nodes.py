#!/usr/bin/env python3
"""Nodes: one node against two nodes on the same machine, sharing one PostgreSQL database.

Target (issue 20): nothing is serialised that need not be: a second node (a second gunicorn, a second
``flask worker``, each with an instance folder of its own, ``MADOGUCHI_BLOB_STORE=database``) adds
throughput while the machine has a core to give it. Measured in the same run, rounds interleaved
one node / two nodes, each topology's rate the baseline of the other:

- web: the clerk's download of a sealed document (``/office/cases/<id>/document``: session, SQL, the
  blob read from the database) and the clerk's queue page (``/office/``: SQL and a template), driven by
  wrk on loopback with the clerk's session cookie: one wrk of 4 connections at node A, or two wrk of 2
  connections each, at A and at B, at once (their rates added);
- worker: 住民票 requests submitted in a batch, until every one is rendered and in review (the
  enter-route job: two PDFs rendered, stored, the case moved), with node A's worker alone (B's stopped
  with SIGSTOP) or both.

On two cores the gain is bounded by what the load generator and PostgreSQL take of them: the script
prints where the CPU time of each round went (web servers, workers with their render processes,
PostgreSQL, wrk), the figures behind the ratio. The target ratio is ≥ 1.2.

    MADOGUCHI_BENCH_PG_URL=postgresql+psycopg://… .venv/bin/python scripts/bench/nodes.py [--quick]
"""

from __future__ import annotations

import os
import re
import resource
import signal
import statistics
import subprocess
import time
from pathlib import Path

import benchlib
from benchlib import ROOT, VENV_BIN, Instance, Result, report
from scale import CLERK, clerk_secret
from submit import gunicorn_command

from tests.support.http import free_port

RATIO_TARGET = 1.2


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and all their descendants alive now (from /proc)."""
    total = 0
    for root in pids:
        for pid in _descendants(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Node:
    """A gunicorn web server (one worker process) and a ``flask worker``, with an instance folder of their own."""

    def __init__(self, name: str, env: dict, folder: Path):
        self.name, self.port = name, free_port()
        instance = folder / name
        instance.mkdir()
        self.env = {**env, "MADOGUCHI_INSTANCE_PATH": str(instance)}
        command = gunicorn_command("app:create_app()", self.port)
        command[command.index("--workers") + 1] = "1"
        self.web = subprocess.Popen(command, env=self.env, cwd=ROOT)
        self.log = folder / f"{name}-worker.log"
        with self.log.open("w") as log:
            self.worker = subprocess.Popen([str(VENV_BIN / "flask"), "worker"], env=self.env, cwd=ROOT,
                                           stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5):
                    if "worker started" in self.log.read_text():
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"nodes: node {self.name} did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        for process in (self.worker, self.web):
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in (self.worker, self.web):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def postmaster_pid(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        folder = connection.scalar(sa.text("SELECT setting FROM pg_settings WHERE name = 'data_directory'"))
    engine.dispose()
    return int((Path(folder) / "postmaster.pid").read_text().split()[0])


def wrk(url: str, path: str, cookie: str, seconds: float, connections: int) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
                             "-H", f"Cookie: {cookie}", f"{url}{path}"], stdout=subprocess.PIPE, text=True)


def wrk_rate(output: str) -> tuple[float, int]:
    """(requests per second, non-2xx responses) from wrk's report."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, int(bad.group(1)) if bad else 0


class Deployment:
    def __init__(self, url: str, env: dict, folder: Path, app):
        self.nodes = [Node(name, env, folder) for name in ("a", "b")]
        for node in self.nodes:
            node.wait()
        self.app = app
        self.postgres = postmaster_pid(url)
        #: (workload, topology) → the CPU seconds of each round by process group, and its wall time.
        self.cpu: dict[tuple[str, str], list[dict[str, float]]] = {}

    def measured(self, workload: str, topology: str, run) -> float:
        """Run one round (``run()`` returns its rate); record where its CPU time went."""
        nodes = self.nodes[:1] if topology == "one" else self.nodes
        groups = {"web": [n.web.pid for n in nodes], "workers": [n.worker.pid for n in nodes],
                  "postgresql": [self.postgres]}
        before = {name: cpu_seconds(pids) for name, pids in groups.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        this = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        rate = run()
        spent = {name: cpu_seconds(pids) - before[name] for name, pids in groups.items()}
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        after_this = resource.getrusage(resource.RUSAGE_SELF)
        spent["load generator"] = max(0.0, after_children.ru_utime + after_children.ru_stime - children.ru_utime
                                      - children.ru_stime)
        spent["this script"] = after_this.ru_utime + after_this.ru_stime - this.ru_utime - this.ru_stime
        spent["wall"] = time.perf_counter() - started
        self.cpu.setdefault((workload, topology), []).append(spent)
        return rate

    def web_round(self, topology: str, path: str, cookie: str, seconds: float) -> float:
        def run() -> float:
            targets = self.nodes[:1] if topology == "one" else self.nodes
            clients = [wrk(node.url, path, cookie, seconds, 4 // len(targets)) for node in targets]
            outputs = [client.communicate()[0] for client in clients]
            rates = [wrk_rate(output) for output in outputs]
            if any(bad for _rate, bad in rates):
                raise SystemExit(f"nodes: {path} answered errors: {outputs}")
            return sum(rate for rate, _bad in rates)

        return self.measured(f"web {path}", topology, run)

    def worker_round(self, topology: str, cases: int) -> float:
        """Submit ``cases`` requests in one commit; the rate at which the workers put them all into review."""
        import sqlalchemy as sa

        from app.accounts.models import Resident
        from app.db import intending_to_write
        from app.demo.answers import fill
        from app.extensions import db
        from app.jobs.models import Job
        from app.submissions import service as submissions
        from app.submissions.models import Submission
        from tests.support.accounts import make_resident

        with self.app.app_context(), intending_to_write():
            # Stop B only while it is idle: a worker stopped inside a transaction could hold a lock A needs.
            while db.session.scalar(sa.select(sa.func.count()).select_from(Job)
                                    .where(Job.state.in_(("pending", "running")))):
                db.session.commit()
                time.sleep(0.05)
            db.session.commit()
            b = self.nodes[1].worker
            if topology == "one":
                b.send_signal(signal.SIGSTOP)
            try:
                resident = db.session.scalar(sa.select(Resident).where(Resident.email == BENCH_RESIDENT)) \
                    or make_resident(db, BENCH_RESIDENT)
                ids = []
                for _ in range(cases):
                    draft = fill(resident, "juminhyo")
                    submissions.submit(draft)
                    ids.append(draft.id)
                db.session.flush()

                def run() -> float:
                    started = time.perf_counter()
                    db.session.commit()  # the batch at once: NOTIFY wakes the workers
                    while db.session.scalar(sa.select(sa.func.count()).select_from(Submission).where(
                            Submission.id.in_(ids), Submission.state != "in_review")):
                        db.session.commit()
                        time.sleep(0.02)
                    return cases / (time.perf_counter() - started)

                return self.measured("worker", topology, run)
            finally:
                b.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


BENCH_RESIDENT = "nodes-bench@example.jp"


def main() -> None:
    args = benchlib.arguments(__doc__.splitlines()[0])
    url = benchlib.pg_url()
    if not url:
        raise SystemExit("nodes: set MADOGUCHI_BENCH_PG_URL (scripts/bench/all starts a cluster)")
    rounds, seconds, cases = (3, 4, 8) if args.quick else (5, 10, 20)
    instance = Instance(url)
    deployment = None
    try:
        instance.setup(demo=True)
        instance.flask("blobs", "migrate", "--to", "database")
        secrets = instance.folder / "secrets"
        env = {**instance.env, "MADOGUCHI_BLOB_STORE": "database",
               **{name: (secrets / name.lower()).read_text().strip()
                  for name in ("SECRET_KEY", "MADOGUCHI_KEY_PASSPHRASE", "MADOGUCHI_FIELD_KEY", "MADOGUCHI_AUDIT_KEY",
                               "MADOGUCHI_WEBHOOK_SECRET")}}
        app = instance.app(MADOGUCHI_BLOB_STORE="database")
        cookie, document_path = staff_cookie(app)
        deployment = Deployment(url, env, instance.folder, app)
        samples: dict[str, dict[str, list[float]]] = {}
        for name, path in (("web: document download", document_path), ("web: queue page", "/office/")):
            deployment.web_round("two", path, cookie, 1)  # warm-up: imports, pools, caches
            deployment.cpu.pop((f"web {path}", "two"))
            samples[name] = {"one": [], "two": []}
            for _ in range(rounds):
                for topology in ("one", "two"):
                    samples[name][topology].append(deployment.web_round(topology, path, cookie, seconds))
        deployment.worker_round("two", 4)  # warm-up: each worker starts its render process
        deployment.worker_round("two", 4)
        deployment.cpu.pop(("worker", "two"))
        name = "worker: renders"
        samples[name] = {"one": [], "two": []}
        for _ in range(rounds):
            for topology in ("one", "two"):
                samples[name][topology].append(deployment.worker_round(topology, cases))
        where_the_time_goes(deployment)
    finally:
        if deployment:
            deployment.stop()
        instance.cleanup()
    results = []
    for name, by_topology in samples.items():
        one, two = statistics.median(by_topology["one"]), statistics.median(by_topology["two"])
        unit = "cases/s" if name.startswith("worker") else "requests/s"
        results.append(Result(f"{name}, two nodes", round(two, 2), None, unit, round(one, 2), round(two / one, 3),
                              f"ratio >= {RATIO_TARGET} (baseline: one node)", two / one >= RATIO_TARGET))
    report("nodes", results)


def staff_cookie(app) -> tuple[str, str]:
    """The demo clerk signed in (password and TOTP) in this process; the session cookie, and the path of a
    sealed document of the clerk's office."""
    import sqlalchemy as sa

    from app.documents.models import Document
    from app.extensions import db
    from app.submissions.models import Submission
    from tests.support.staff import sign_in_staff

    client = app.test_client()
    with app.app_context():
        sign_in_staff(client, CLERK[0], CLERK[1], clerk_secret(app))
        case = db.session.scalar(sa.select(Document.submission_id).join(Submission)
                                 .where(Document.kind == "approval", Submission.state == "approved").limit(1))
    cookie = client.get_cookie("madoguchi_session")
    return f"madoguchi_session={cookie.value}", f"/office/cases/{case}/document"


def where_the_time_goes(deployment: Deployment) -> None:
    """Per workload and topology: the median round's CPU seconds by process group, as shares of what the
    machine's cores could give in that time."""
    cores = os.cpu_count() or 1
    print(f"\n== nodes: where the CPU time went (median round; {cores} cores; load average now "
          f"{os.getloadavg()[0]:.1f}: what other programs take is missing from these shares) ==")
    for (workload, topology), rounds in deployment.cpu.items():
        wall = statistics.median(r["wall"] for r in rounds)
        parts = [f"{key} {statistics.median(r[key] for r in rounds) / wall * 100 / cores:.0f}%"
                 for key in rounds[0] if key != "wall"]
        print(f"  {workload}, {topology} node(s), {wall:.1f} s: {', '.join(parts)} of the machine")


if __name__ == "__main__":
    main()
