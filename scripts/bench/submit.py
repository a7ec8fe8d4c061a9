#!/usr/bin/env python3
"""Submissions: the real submit path against a bare Flask + SQLAlchemy insert, with gunicorn and wrk.

Target (issue 6): the resident's submit (CSRF, signed session, resident and ownership checks, the
draft's completeness, the conditional state change with a fresh receipt number, history, audit event,
the enter-route job and the confirmation mail job, one transaction) at ≥ 0.5× the rate of a bare
endpoint that validates the same fields and inserts one row (scripts/bench/baseline_app.py), measured
in the same run: both served by gunicorn with 2 sync workers, driven by wrk on loopback, rounds
interleaved A/B/A/B so drift hits both alike; p99 ≤ 100 ms; 0 errors; aim ≥ 500 submits/s.

Every wrk request of the real path is one successful submission of its own prepared draft (see
submit_prep.py): a response is counted only if it is the redirect to the confirmation page, and the
rows that changed state in the database must account for every counted response. The app runs with
MADOGUCHI_ENV=production (its secrets passed in the environment, as a deployment would) and its rate
limits as configured; the submit route has no rate limit of its own.

On SQLite and, when MADOGUCHI_BENCH_PG_URL is set, on PostgreSQL (otherwise those rows are skipped).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import ROOT, VENV_BIN, Instance, Result

from tests.support.http import free_port

HERE = Path(__file__).resolve().parent
LUA = HERE / "submit.lua"
RATIO_TARGET, P99_TARGET_MS, AIM = 0.5, 100.0, 500
#: Prepared drafts per second for the warm-up round: above any rate a 2-core machine reaches.
WARMUP_DRAFTS_PER_SECOND = 2500
#: Later rounds get this many times the warm-up's rate (at least FLOOR/s): preparing drafts takes
#: time too, and a round that ran out would show as errors, never as a quiet re-submit.
HEADROOM, FLOOR = 5, 300


def gunicorn_command(spec: str, port: int) -> list[str]:
    command = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--worker-class", "sync", "--log-level", "warning", "--graceful-timeout", "5"]
    help_text = subprocess.run(command[:1] + ["--help"], capture_output=True, text=True).stdout
    if "--no-control-socket" in help_text:  # gunicorn 25+ would open a control socket under ~/.gunicorn
        command.append("--no-control-socket")
    return [*command, spec]


class Server:
    def __init__(self, spec: str, env: dict, cwd: Path, probe: str):
        self.port = free_port()
        self.process = subprocess.Popen(gunicorn_command(spec, self.port), env=env, cwd=cwd)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {spec} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(f"GET {probe} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    if sock.recv(12).startswith(b"HTTP/1."):
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {spec} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_wrk(url: str, data: Path, seconds: float, *, wrap: bool, expect: str, threads: int, connections: int) -> dict:
    env = {**os.environ, "BENCH_DATA": str(data), "BENCH_THREADS": str(threads),
           "BENCH_WRAP": "1" if wrap else "0", "BENCH_EXPECT": expect}
    completed = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "5s",
         "-s", str(LUA), url], env=env, capture_output=True, text=True, check=True)
    if completed.stderr.strip():
        print(completed.stderr.strip(), file=sys.stderr)
    line = next(line for line in completed.stdout.splitlines() if line.startswith('{"requests"'))
    stats = json.loads(line)
    stats["seconds"] = stats["duration_us"] / 1e6
    return stats


def bench_database(kind: str, database_url: str | None, args, work: Path) -> list[Result]:
    from baseline_app import SAMPLE, count, create_table
    from submit_prep import Prepared, write_lua_data

    instance = Instance(database_url)
    servers: list[Server] = []
    try:
        instance.setup()
        app = instance.app()
        prepared = Prepared(app)
        prepared.make_residents()
        prepared.fill_template()

        baseline_url = database_url or f"sqlite:///{instance.folder / 'baseline.db'}"
        create_table(baseline_url)
        baseline_data = work / f"{kind}-baseline.lua"
        from urllib.parse import urlencode

        write_lua_data(baseline_data, [("/submit", "", urlencode(SAMPLE))])

        secrets_dir = instance.folder / "secrets"
        production = {**instance.env, "MADOGUCHI_ENV": "production",
                      **{name: (secrets_dir / name.lower()).read_text().strip()
                         for name in ("SECRET_KEY", "MADOGUCHI_KEY_PASSPHRASE", "MADOGUCHI_FIELD_KEY",
                                      "MADOGUCHI_AUDIT_KEY")}}
        servers.append(Server("app:create_app()", production, ROOT, "/healthz"))
        servers.append(Server("baseline_app:create()", {**os.environ, "BASELINE_DATABASE_URL": baseline_url},
                              HERE, "/"))
        real_server, baseline_server = servers

        def real_round(seconds: float, per_second: float) -> dict:
            data = work / f"{kind}-real.lua"
            write_lua_data(data, prepared.take(int(seconds * per_second) + 200))
            before = prepared.submitted_count()
            stats = run_wrk(real_server.url, data, seconds, wrap=False, expect="/confirmation$",
                            threads=args.threads, connections=args.connections)
            stats["stored"] = prepared.submitted_count() - before
            return stats

        def baseline_round(seconds: float) -> dict:
            before = count(baseline_url)
            stats = run_wrk(baseline_server.url, baseline_data, seconds, wrap=True, expect="^/done/",
                            threads=args.threads, connections=args.connections)
            stats["stored"] = count(baseline_url) - before
            return stats

        warm = real_round(1, WARMUP_DRAFTS_PER_SECOND)  # warm-up: imports, connection pools, page caches
        baseline_round(1)
        per_second = max(FLOOR, HEADROOM * warm["ok"] / warm["seconds"])
        seconds = args.seconds or (5 if args.quick else 15)
        real, baseline = [], []
        for _ in range(args.rounds):
            baseline.append(baseline_round(seconds))
            real.append(real_round(seconds, per_second))
            for label, stats in (("baseline", baseline[-1]), ("real", real[-1])):
                print(f"  {kind} {label}: {stats['ok'] / stats['seconds']:.0f}/s, "
                      f"p50 {stats['p50_us'] / 1000:.1f} ms, p99 {stats['p99_us'] / 1000:.1f} ms, bad {stats['bad']}, "
                      f"socket errors {stats['socket_errors']}, stored {stats['stored']}", file=sys.stderr)
        return results_for(kind, real, baseline)
    finally:
        for server in servers:
            server.stop()
        instance.cleanup()


def errors_of(stats: dict) -> int:
    """Wrong responses, socket errors, and counted successes that the database does not show."""
    return stats["bad"] + stats["socket_errors"] + max(0, stats["ok"] - stats["stored"])


def results_for(kind: str, real: list[dict], baseline: list[dict]) -> list[Result]:
    rates = [s["ok"] / s["seconds"] for s in real]
    base_rates = [s["ok"] / s["seconds"] for s in baseline]
    rate, base_rate = statistics.median(rates), statistics.median(base_rates)
    ratio = rate / base_rate if base_rate else 0.0
    p99s = [s["p99_us"] / 1000 for s in real]
    errors = sum(errors_of(s) for s in real)
    base_errors = sum(errors_of(s) for s in baseline)
    if base_errors:
        print(f"  {kind} baseline had {base_errors} errors", file=sys.stderr)
    return [
        Result(f"{kind} submits/s", round(rate, 1), None, "submits/s", round(base_rate, 1), round(ratio, 3),
               f"ratio >= {RATIO_TARGET} (aim >= {AIM}/s)", ratio >= RATIO_TARGET),
        Result(f"{kind} submit p99 (worst round)", round(max(p99s), 1), None, "ms", None, None,
               f"<= {P99_TARGET_MS:g} ms", max(p99s) <= P99_TARGET_MS),
        Result(f"{kind} submit errors", errors, None, "errors", None, None, "== 0", errors == 0),
    ]


def main() -> int:
    args = benchlib.arguments(
        __doc__.splitlines()[0],
        rounds={"type": int, "default": 3, "help": "A/B rounds per database (default 3)"},
        seconds={"type": float, "default": None, "help": "seconds per round (default 15, --quick 5)"},
        threads={"type": int, "default": 1, "help": "wrk threads (default 1)"},
        connections={"type": int, "default": 4, "help": "wrk connections (default 4)"},
        only={"choices": ["sqlite", "postgresql"], "default": None, "help": "one database kind only"},
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-submit-") as work:
        if args.only in (None, "sqlite"):
            results += bench_database("sqlite", None, args, Path(work))
        if args.only in (None, "postgresql"):
            if benchlib.pg_url():
                results += bench_database("postgresql", benchlib.pg_url(), args, Path(work))
            else:
                print("submit: MADOGUCHI_BENCH_PG_URL is not set; skipping the PostgreSQL rows "
                      "(scripts/bench/all starts a cluster)", file=sys.stderr)
    benchlib.report("submit", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
