"""What every benchmark shares: timing, the results file, the table, and a throwaway instance.

Each benchmark is a script in this folder (``scripts/bench/<name>.py``) that measures one target
against a baseline run in the same process (interleaved where it can be), prints a table and writes
``scripts/bench/results/<name>.json``: a list of

    {"name", "median", "p95", "unit", "baseline", "ratio", "target", "met"}

``baseline`` and ``ratio`` are null where a target has no baseline. ``target`` is a short text such
as ``"ratio >= 1.4"`` or ``"median <= 30 ms"``; ``met`` is what the script concluded from it.

Scripts take ``--quick`` (short rounds, as ``scripts/bench/all --quick``). A script that needs
PostgreSQL reads its SQLAlchemy URL from ``MADOGUCHI_BENCH_PG_URL`` (``all`` starts a throwaway cluster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
VENV_BIN = ROOT / ".venv" / "bin"


@dataclass
class Result:
    name: str
    median: float
    p95: float | None
    unit: str
    baseline: float | None
    ratio: float | None
    target: str
    met: bool


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the value at least ``fraction`` of the samples are no greater than."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(samples: list[float]) -> tuple[float, float]:
    """(median, p95) of the samples."""
    return statistics.median(samples), percentile(samples, 0.95)


def time_ms(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def interleaved(rounds: int, **candidates: Callable[[], object]) -> dict[str, list[float]]:
    """Milliseconds per call of each candidate, run A, B, A, B, … so drift hits both alike."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, function in candidates.items():
            samples[name].append(time_ms(function))
    return samples


def result(name: str, samples: list[float], unit: str, target: str, met: bool,
           baseline_samples: list[float] | None = None, *, ratio: float | None = None) -> Result:
    """A Result from raw samples; the baseline is reported by its median.

    ``ratio`` defaults to baseline median / median (how many times faster than the baseline, for
    timings); pass it explicitly where the target reads the other way (a rate, or a slowdown).
    """
    median, p95 = summary(samples)
    baseline = statistics.median(baseline_samples) if baseline_samples else None
    if ratio is None and baseline is not None and median:
        ratio = baseline / median
    return Result(name, round(median, 3), round(p95, 3), unit, None if baseline is None else round(baseline, 3),
                  None if ratio is None else round(ratio, 3), target, bool(met))


def report(script: str, results: Iterable[Result]) -> list[Result]:
    """Print the table and write results/<script>.json."""
    results = list(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{script}.json").write_text(
        json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")

    rows = [("name", "median", "p95", "unit", "baseline", "ratio", "target", "met")]
    rows += [(r.name, cell(r.median), cell(r.p95), r.unit, cell(r.baseline), cell(r.ratio), r.target,
              "yes" if r.met else "NO") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n== {script} ==")
    for index, row in enumerate(rows):
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    return results


def arguments(description: str, **extra: dict) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short rounds (scripts/bench/all --quick)")
    for flag, options in extra.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", **options)
    return parser.parse_args()


def pg_url() -> str | None:
    return os.environ.get("MADOGUCHI_BENCH_PG_URL") or None


class Instance:
    """A throwaway Madoguchi instance: its own folder, database, secrets; set up through the real CLI.

    ``env`` is the environment for ``flask`` and ``gunicorn`` subprocesses; ``app()`` builds an
    in-process app on the same instance. With ``database_url`` (PostgreSQL) the schema is dropped
    first, so a run starts empty.
    """

    def __init__(self, database_url: str | None = None, *, base_url: str = "http://127.0.0.1:5000",
                 extra_env: dict[str, str] | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
        self.database_url = database_url or f"sqlite:///{self.folder / 'madoguchi.db'}"
        self.env = {
            **os.environ,
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "FLASK_APP": "app",
            "MADOGUCHI_ENV": "development",
            "MADOGUCHI_INSTANCE_PATH": str(self.folder),
            "DATABASE_URL": self.database_url,
            "MADOGUCHI_BASE_URL": base_url,
            **(extra_env or {}),
        }
        if database_url:
            self._reset_schema()

    def _reset_schema(self) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.database_url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()

    def flask(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "flask"), *args], env=self.env, cwd=ROOT, check=check,
                              capture_output=capture, text=True)

    def setup(self, *, seals: bool = False, demo: bool = False) -> Instance:
        """Migrate and load the catalogue; optionally create the seal PKI, or seed the demo (which does both)."""
        self.flask("db", "upgrade")
        self.flask("catalogue", "sync")
        if demo:
            self.flask("demo", "seed")
        elif seals:
            self.flask("seals", "init")
        return self

    def app(self, **overrides):
        """An in-process app on this instance (configuration from ``env``, as the CLI would read it: the
        bench plays the web, the worker and the operator in one process, so it gets every key)."""
        from app import create_app

        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            return create_app({"MADOGUCHI_PROCESS": "cli", **overrides})
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def cleanup(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for pid {pid}")
