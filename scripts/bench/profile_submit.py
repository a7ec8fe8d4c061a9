#!/usr/bin/env python3
"""Profile the resident's submit POST in process (cProfile), on the same prepared drafts as submit.py.

    .venv/bin/python scripts/bench/profile_submit.py [--count 300] [--pg] [--sort cumulative]

Prints the time per submit and the top of the profile; the benchmark itself is submit.py.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import benchlib
from benchlib import Instance
from submit_prep import Prepared


def main() -> int:
    args = benchlib.arguments(
        __doc__.splitlines()[0],
        count={"type": int, "default": 300},
        pg={"action": "store_true", "help": "on MADOGUCHI_BENCH_PG_URL instead of SQLite"},
        sort={"default": "cumulative"},
        lines={"type": int, "default": 45},
    )
    instance = Instance(benchlib.pg_url() if args.pg else None)
    try:
        instance.setup()
        app = instance.app()
        prepared = Prepared(app, residents=8)
        prepared.make_residents()
        prepared.fill_template()
        entries = prepared.take(args.count + 20)
        client = app.test_client()
        name = app.config["SESSION_COOKIE_NAME"]

        def submit(entry) -> None:
            path, cookie, body = entry
            client.set_cookie(name, cookie.split("=", 1)[1])
            response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
            if response.status_code != 302 or not response.headers["Location"].endswith("/confirmation"):
                raise RuntimeError(f"submit failed: {response.status_code} {response.headers.get('Location')}")

        for entry in entries[:20]:  # warm-up
            submit(entry)
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        for entry in entries[20:]:
            submit(entry)
        profile.disable()
        elapsed = time.perf_counter() - start
        print(f"{args.count} submits: {elapsed / args.count * 1000:.2f} ms each (profiled)")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.lines)
    finally:
        instance.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
