#!/usr/bin/env python3
"""Blob store: the ``database`` backend against ``filesystem`` for rendering, downloads and verification.

Target (issue 20): with ``MADOGUCHI_BLOB_STORE=database`` each path runs at ≥ 0.7× the speed of the
same path with ``filesystem``, measured in the same run, A/B interleaved (the backend is switched in the
app's configuration between calls; every blob is in both stores, copied by ``flask blobs migrate``):

- render: the worker's enter-route job for a freshly submitted case (render the receipt and the
  approval document in the warm render process, store both, move the case into review), committed;
- download: the clerk's GET of a sealed approval document (``/office/cases/<id>/document``) and of a
  4 MB upload (``/office/cases/<id>/attachments/<id>``, an audited read), through the real views;
- verify: ``/api/v1/verify?code=`` for a sealed document, the PDF's report reused (a repeat lookup:
  the blob read is then a visible part of the time) and not (``_first``: the whole validation).

Rows ``store read`` time ``blobs.get`` alone (what the backend itself costs). On PostgreSQL when
``MADOGUCHI_BENCH_PG_URL`` is set (a deployment's database; ``scripts/bench/all`` starts one), else SQLite.
"""

from __future__ import annotations

import os
import statistics

import benchlib
from benchlib import Instance, interleaved, report, result
from scale import CLERK, clerk_secret

TARGET = 0.7
BACKENDS = ("filesystem", "database")


def main() -> None:
    args = benchlib.arguments(__doc__.splitlines()[0])
    renders, rounds = (6, 30) if args.quick else (20, 120)
    url = benchlib.pg_url()
    instance = Instance(url)
    try:
        instance.setup(demo=True)
        # The verify API allows 30 a minute per client; the bench is one client.
        app = instance.app(RATELIMIT_ENABLED=False)
        samples = measure(app, renders, rounds)
    finally:
        instance.cleanup()
    database = "PostgreSQL" if url else "SQLite"
    results = []
    for name, (fs, dbs) in samples.items():
        ratio = statistics.median(fs) / statistics.median(dbs)
        target = "reported" if name.startswith("store") else f"ratio >= {TARGET}"
        results.append(result(f"{name} ({database})", dbs, "ms", target,
                              True if name.startswith("store") else ratio >= TARGET, fs, ratio=ratio))
    report("blobs", results)


def measure(app, renders: int, rounds: int) -> dict[str, tuple[list[float], list[float]]]:
    """name → (filesystem samples, database samples), in ms."""
    import sqlalchemy as sa

    from app.accounts.models import Resident
    from app.db import intending_to_write
    from app.demo.answers import fill
    from app.documents import blob_admin, blobs
    from app.documents.models import Document
    from app.extensions import db
    from app.submissions import service as submissions
    from app.submissions.models import Attachment, Submission
    from app.workflow import jobs as workflow_jobs
    from tests.support.staff import sign_in_staff

    with app.app_context(), intending_to_write():
        blob_admin.migrate("database")  # every blob of the demo in both stores
        document = db.session.scalars(
            sa.select(Document).join(Submission).where(Document.kind == "approval", Submission.state == "approved")
            .order_by(Document.id)).first()
        case_id, code, sealed_sha256 = document.submission_id, document.verification_code, document.latest.sha256
        # The large upload goes to another case of the same office: an attachment added to the verified one
        # would change what its seals commit to.
        upload_case = db.session.scalar(
            sa.select(Document.submission_id).join(Submission)
            .where(Document.kind == "approval", Submission.id != case_id,
                   Submission.form_version_id == db.session.get(Submission, case_id).form_version_id)
            .order_by(Document.id).limit(1))
        big = b"%PDF-1.4\n" + os.urandom(4 * 1024 * 1024)
        for backend in BACKENDS:
            app.config["MADOGUCHI_BLOB_STORE"] = backend
            big_sha256 = blobs.put("uploads", big)
        upload = Attachment(submission_id=upload_case, field_name="bench", filename="bench.pdf",
                            content_type="application/pdf", size=len(big), sha256=big_sha256)
        db.session.add(upload)
        db.session.commit()
        upload_id = upload.id
        resident_id = db.session.scalar(sa.select(Resident.id).order_by(Resident.id))

    client = app.test_client()
    with app.app_context():
        sign_in_staff(client, CLERK[0], CLERK[1], clerk_secret(app))

    def using(backend: str, function):
        def run():
            app.config["MADOGUCHI_BLOB_STORE"] = backend
            function()
        return run

    def get(path: str, size: int | None = None):
        def fetch():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert size is None or len(response.data) == size
        return fetch

    def verify():
        response = client.get(f"/api/v1/verify?code={code}")
        assert response.status_code == 200 and response.json["genuine"], response.json

    def verify_first():
        from app.api import verification

        verification._reports.clear()  # as the first lookup of this document in five minutes
        verify()

    def read(kind: str, sha256: str):
        def run():
            with app.app_context():
                blobs.get(kind, sha256)
        return run

    def submitted_case() -> int:
        with app.app_context(), intending_to_write():
            draft = fill(db.session.get(Resident, resident_id), "juminhyo")
            submissions.submit(draft)
            db.session.commit()
            return draft.id

    def render(backend: str):
        case = submitted_case()  # not timed: the job is

        def run():
            with app.app_context(), intending_to_write():
                app.config["MADOGUCHI_BLOB_STORE"] = backend
                workflow_jobs.run_enter_route({"submission_id": case})
                db.session.commit()
        return run

    paths = {
        "download document": get(f"/office/cases/{case_id}/document"),
        "download 4 MB upload": get(f"/office/cases/{upload_case}/attachments/{upload_id}", len(big)),
        "verify by code, repeat": verify,
        "verify by code, first": verify_first,
        "store read document": read("documents", sealed_sha256),
        "store read 4 MB upload": read("uploads", big_sha256),
    }
    samples: dict[str, tuple[list[float], list[float]]] = {}
    for name, function in paths.items():
        candidates = {backend: using(backend, function) for backend in BACKENDS}
        interleaved(3, **candidates)  # warm-up: connection pool, page cache, the report cache
        measured = interleaved(rounds if "first" not in name else max(6, rounds // 5), **candidates)
        samples[name] = (measured["filesystem"], measured["database"])

    render(BACKENDS[0])()  # warm-up: the render process starts
    timed = {backend: [] for backend in BACKENDS}
    for _ in range(renders):
        for backend in BACKENDS:
            timed[backend].append(benchlib.time_ms(render(backend)))
    samples = {"render (enter-route job)": (timed["filesystem"], timed["database"]), **samples}
    return samples


if __name__ == "__main__":
    main()
