"""Scale: the clerk queue, status lookup, verification and ``flask audit verify`` over a million submissions.

    MADOGUCHI_BENCH_PG_URL=postgresql+psycopg://… .venv/bin/python scripts/bench/scale.py [--quick]

A throwaway instance on PostgreSQL gets the demo data (real staff, real sealed documents) through the
CLI, then N submissions by COPY (scripts/bench/seed_scale.py; 100,000 with --quick, else 1,000,000).
Pages are fetched through the real views with the in-process test client, signed in as the demo clerk
(password and TOTP), so each timing is the page as the clerk gets it: session, SQL and template.

- queue: the office task queue (tab "office", oldest first) on page 1 and on page 500, whose keyset
  cursor is computed from the database (the task 499 × 25 rows in); likewise the all-cases tab.
- status: the clerk's lookup of one case by its receipt number (the queue's search box: the page, and
  the query alone).
- verify: ``/api/v1/verify?code=`` for a sealed demo document: the code looked up among the seeded
  documents, its PDF's signatures validated (the first lookup; a repeat reuses that report), the seal
  records checked.
- audit verify: ``flask audit verify`` as a subprocess, timed and its peak RSS read from /proc, after
  the first tenth of the seeding and after all of it: constant memory means the two peaks match.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time

from benchlib import ROOT, VENV_BIN, Instance, arguments, interleaved, peak_rss_mb, pg_url, report, result

CLERK = ("suzuki@city.example.lg.jp", "madoguchi-staff-2026", "MADOGUCHIDEMOSUZUKICLERKSHIMIN00")
PAGES_DEEP = 500


def audit_verify(instance: Instance) -> dict:
    """Run ``flask audit verify``; wall time, events checked and peak RSS (VmHWM polled until exit)."""
    started = time.perf_counter()
    process = subprocess.Popen([str(VENV_BIN / "flask"), "audit", "verify"], env=instance.env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def poll() -> None:
        while process.poll() is None:
            try:
                peak[0] = max(peak[0], peak_rss_mb(process.pid))
            except (OSError, ValueError):  # the process ended between poll() and the read
                break
            time.sleep(0.05)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out, err = process.communicate()
    watcher.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0 or not out.startswith("ok: "):
        raise SystemExit(f"flask audit verify failed: {out}{err}")
    events = int(out.split()[1])
    return {"seconds": seconds, "events": events, "rate": events / seconds, "peak_mb": peak[0]}


def clerk_secret(app) -> str:
    """The demo clerk's TOTP secret as stored (decrypted), so the sign-in is the real two-step one."""
    from app.accounts import staff_service
    from app.accounts.models import Staff
    from app.extensions import db

    with app.app_context():
        staff = db.session.scalar(db.select(Staff).where(Staff.email == CLERK[0]))
        return staff_service.totp_secret(staff)


def cursors(app) -> dict[str, str]:
    """The keyset cursor after 499 pages of the task queue and of the all-cases tab of the clerk's office."""
    import sqlalchemy as sa

    from app.catalogue.models import FormVersion
    from app.extensions import db
    from app.submissions.models import Submission
    from app.workflow.models import Approval
    from app.workflow.queue import PAGE_SIZE, encode_cursor

    offset = (PAGES_DEEP - 1) * PAGE_SIZE - 1
    with app.app_context():
        task = db.session.execute(
            sa.select(Approval.created_at, Approval.id).where(Approval.office_id == 1, Approval.state == "pending")
            .order_by(Approval.created_at, Approval.id).offset(offset).limit(1)).one()
        case = db.session.execute(
            sa.select(Submission.submitted_at, Submission.id).join(FormVersion)
            .where(FormVersion.office_id == 1, Submission.state != "draft")
            .order_by(Submission.submitted_at, Submission.id).offset(offset).limit(1)).one()
        return {"tasks": encode_cursor(*task), "cases": encode_cursor(*case)}


def samples_of(app, rounds: int, demo_documents: int) -> dict[str, list[float]]:
    import sqlalchemy as sa

    from app.accounts.models import Staff
    from app.api import verification
    from app.documents.models import Document, DocumentRevision
    from app.extensions import db
    from app.submissions.models import Submission
    from app.workflow import queue
    from tests.support.staff import sign_in_staff

    deep = cursors(app)
    with app.app_context():
        # The demo document with the most seals (the seeded ones have no PDF): a case sealed to the end.
        code = db.session.scalar(
            sa.select(Document.verification_code).join(DocumentRevision)
            .where(Document.kind == "approval", Document.id <= demo_documents)
            .group_by(Document.id).order_by(sa.func.count().desc(), Document.id).limit(1))
        receipts = db.session.scalars(sa.select(Submission.receipt_number).where(Submission.receipt_number.is_not(None))
                                      .order_by(sa.func.random()).limit(50)).all()
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK[0]))
        db.session.expunge(staff)
    client = app.test_client()
    with app.app_context():
        sign_in_staff(client, CLERK[0], CLERK[1], clerk_secret(app))
    picks = random.Random(6)

    def get(path: str, expect: bytes | None = None):
        def fetch():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            if expect is not None:
                assert expect in response.data, (path, expect)
        return fetch

    def verify():
        response = client.get(f"/api/v1/verify?code={code}")
        assert response.status_code == 200 and response.json["seals"], response.json

    def verify_first():
        verification._reports.clear()  # as the first lookup of this document in five minutes
        verify()

    def status_query():
        receipt = picks.choice(receipts)
        with app.test_request_context():
            rows, _cursor = queue.case_page(staff, queue.QueueFilters(tab="all", q=receipt))
            assert rows and rows[0][1].receipt_number == receipt

    def status():
        receipt = picks.choice(receipts)
        get(f"/office/?tab=all&q={receipt}", receipt.encode())()

    candidates = {
        "queue_page_1": get("/office/"),
        "queue_page_500": get(f"/office/?after={deep['tasks']}"),
        "cases_page_1": get("/office/?tab=all"),
        "cases_page_500": get(f"/office/?tab=all&after={deep['cases']}"),
        "status_by_receipt": status,
        "status_query": status_query,
        "verify_by_code_first": verify_first,
        "verify_by_code_repeat": verify,
    }
    interleaved(5, **candidates)  # warm the caches and the connection pool
    return interleaved(rounds, **candidates)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], count={"type": int, "help": "submissions to seed"})
    url = pg_url()
    if not url:
        raise SystemExit("scale: set MADOGUCHI_BENCH_PG_URL (scripts/bench/all starts a cluster)")
    from seed_scale import seed

    count = args.count or (100_000 if args.quick else 1_000_000)
    rounds = 40 if args.quick else 200
    instance = Instance(url)
    try:
        instance.setup(demo=True)
        app = instance.app(RATELIMIT_ENABLED=False)  # the verify API allows 30 a minute per client
        field_key = app.config["MADOGUCHI_FIELD_KEY"]
        with app.app_context():
            from app.documents.models import Document
            from app.extensions import db

            demo_documents = db.session.scalar(db.select(db.func.max(Document.id))) or 0
        seed(url, count // 10, field_key=field_key)
        small = audit_verify(instance)
        seed(url, count - count // 10, field_key=field_key)
        full = audit_verify(instance)
        print(f"audit verify: {small} at a tenth, {full} at the whole", flush=True)
        samples = samples_of(app, rounds, demo_documents)
    finally:
        instance.cleanup()

    first, deep = samples["queue_page_1"], samples["queue_page_500"]
    streaming = (full["events"] - small["events"]) / (full["seconds"] - small["seconds"])
    ratio = _median(deep) / _median(first)
    case_ratio = _median(samples["cases_page_500"]) / _median(samples["cases_page_1"])
    results = [
        result("queue_page_1", first, "ms", "median <= 30 ms", _median(first) <= 30),
        result("queue_page_500", deep, "ms", "median <= 30 ms, <= 1.5x page 1",
               _median(deep) <= 30 and ratio <= 1.5, first, ratio=ratio),
        result("cases_page_1", samples["cases_page_1"], "ms", "median <= 30 ms",
               _median(samples["cases_page_1"]) <= 30),
        result("cases_page_500", samples["cases_page_500"], "ms", "median <= 30 ms, <= 1.5x page 1",
               _median(samples["cases_page_500"]) <= 30 and case_ratio <= 1.5, samples["cases_page_1"],
               ratio=case_ratio),
        result("status_by_receipt", samples["status_by_receipt"], "ms",
               f"median <= 5 ms (the query alone: {_median(samples['status_query']):.2f} ms)",
               _median(samples["status_by_receipt"]) <= 5),
        # The first lookup of a document validates its PDF's signatures (pyHanko); a repeat within five
        # minutes reuses that report and checks the seal records only.
        result("verify_by_code_first", samples["verify_by_code_first"], "ms", "median <= 10 ms",
               _median(samples["verify_by_code_first"]) <= 10),
        result("verify_by_code_repeat", samples["verify_by_code_repeat"], "ms", "median <= 10 ms",
               _median(samples["verify_by_code_repeat"]) <= 10),
        # The rate over the events the full run checked beyond the tenth's run: the command's start-up
        # (imports, app, connection; seconds on a busy machine) is the same in both and drops out.
        result("audit_verify_rate", [streaming], "events/s",
               f">= 50000 events/s (whole command: {full['events']:,} events in {full['seconds']:.1f} s)",
               streaming >= 50_000),
        result("audit_verify_peak_rss", [full["peak_mb"]], "MB",
               f"constant: <= 1.2x the peak at a tenth ({small['events']:,} events, {small['peak_mb']:.0f} MB)",
               full["peak_mb"] <= 1.2 * small["peak_mb"], [small["peak_mb"]], ratio=full["peak_mb"] / small["peak_mb"]),
    ]
    report("scale", results)


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
