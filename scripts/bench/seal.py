#!/usr/bin/env python3
"""Seal: one PAdES signature through the app's signing vs pyHanko's own ``sign_pdf``; the SQL seal record.

Targets (issue 6):
- B-B (no timestamp): ``app.seals.sign.sign_field`` with the app's ``KeySigner`` (the worker's cached
  signer, ``service.signer_for``), the seal imprint as the field's appearance and the app's fixed
  ``SIGNATURE_RESERVATION``, at most 1.2× pyHanko's ``signers.sign_pdf`` with a ``SimpleSigner`` built once
  from the same loaded P-256 key (pyHanko's default appearance, its size-measuring dry run) on the same
  input PDF, interleaved; aim ≤ 25 ms.
- B-T: the same with an RFC 3161 timestamp from the local timestamp authority the tests use
  (tests/seals/tsa.py, on loopback): reported.
- One SQL seal record ≤ 1 ms: the worker's ``seal_subject`` (the case's content hashes) and
  ``app.seals.records.append`` (previous record, ECDSA signature of the canonical payload, INSERT
  flushed) on SQLite, and on PostgreSQL when
  ``MADOGUCHI_BENCH_PG_URL`` is set. The commit is the whole seal transaction's, not the record's, so
  it is not timed; each sample is rolled back so the chain does not grow.

The input is the approval document the worker rendered for a demo submission (every field empty).
"""

from __future__ import annotations

import statistics
import sys
import time

import benchlib


def _demo_case(instance: benchlib.Instance):
    """(app, submission id, document id, field name, staff id) of a demo case in review."""
    import sqlalchemy as sa

    from app.documents import service as documents
    from app.extensions import db
    from app.submissions.models import Submission
    from app.workflow import rendering

    app = instance.app()
    with app.app_context():
        for submission in db.session.scalars(sa.select(Submission).where(Submission.state == "in_review")
                                             .order_by(Submission.id)):
            document = documents.current_document(submission.id)
            if document is not None and document.revisions:
                field = rendering.seal_fields(submission)[0]["field_name"]
                return app, submission.id, document.id, field
    raise SystemExit("seal bench: the demo has no case in review with a rendered document")


def signing(app, document_id: int, field: str, rounds: int, warm: int) -> list[benchlib.Result]:
    import datetime as dt

    from asn1crypto import keys as a_keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from app.documents import service as documents
    from app.documents.models import Document
    from app.documents.stamp import stamp_pdf
    from app.extensions import db
    from app.seals import service
    from app.seals.imprint import imprint_svg
    from app.seals.models import SealCertificate
    from app.seals.service import SIGNATURE_RESERVATION
    from app.seals.sign import _a_cert, sign_field
    from tests.support.tsa import start_tsa

    with app.app_context():
        import sqlalchemy as sa

        document = db.session.get(Document, document_id)
        pdf = documents.read_bytes(document.revisions[0].sha256)
        row = db.session.scalar(sa.select(SealCertificate).where(SealCertificate.kind == "staff",
                                                                 SealCertificate.is_current.is_(True)).limit(1))
        app_signer = service.signer_for(row)  # the worker's cached KeySigner
        key = service._issued(row).key
        chain = service.chain_certificates()
    # The imprint is drawn once per staff member and day; the signature places it in the field.
    stamp = stamp_pdf(imprint_svg("鈴木", "市民課", dt.date.today()))

    # pyHanko's own way, with the key loaded once: SimpleSigner over the PKCS#8 key info.
    key_info = a_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    simple = signers.SimpleSigner(signing_cert=app_signer.signing_cert, signing_key=key_info,
                                  cert_registry=SimpleCertificateStore.from_certs(
                                      [app_signer.signing_cert, *(_a_cert(c) for c in chain)]))

    def app_bb() -> bytes:
        return sign_field(pdf, field, app_signer, stamp_pdf=stamp, reason="bench 承認", location="bench",
                          bytes_reserved=SIGNATURE_RESERVATION)

    def pyhanko_bb() -> bytes:
        import io

        meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
        return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=simple).getvalue()

    for function in (app_bb, pyhanko_bb):
        if len(function()) <= len(pdf):
            raise SystemExit(f"seal bench: {function.__name__} did not sign")
    benchlib.interleaved(warm, app=app_bb, pyhanko=pyhanko_bb)
    samples = benchlib.interleaved(rounds, app=app_bb, pyhanko=pyhanko_bb)
    bb = benchlib.result("PAdES B-B signature (app sign_field)", samples["app"], "ms",
                         "<= 1.2x pyHanko sign_pdf (aim median <= 25 ms)", False, samples["pyhanko"])
    slowdown = bb.median / bb.baseline
    bb.ratio, bb.met = round(slowdown, 3), slowdown <= 1.2

    tsa = start_tsa()
    try:
        def app_bt() -> bytes:
            return sign_field(pdf, field, app_signer, stamp_pdf=stamp, timestamp_url=tsa.url, reason="bench 承認",
                              location="bench", bytes_reserved=SIGNATURE_RESERVATION)

        for _ in range(warm):
            app_bt()
        bt_samples = [benchlib.time_ms(app_bt) for _ in range(rounds)]
    finally:
        tsa.stop()
    bt = benchlib.result("PAdES B-T signature, local TSA (app sign_field)", bt_samples, "ms", "reported", True)
    return [bb, bt]


def seal_record(app, submission_id: int, document_id: int, field: str, rounds: int, label: str) -> benchlib.Result:
    import sqlalchemy as sa

    from app.extensions import db
    from app.seals import records, service
    from app.seals.models import SealCertificate
    from app.submissions.models import Submission
    from app.workflow.sealing import seal_subject

    samples, cpu_samples = [], []
    with app.app_context():
        certificate_id = db.session.scalar(sa.select(SealCertificate.id).where(
            SealCertificate.kind == "staff", SealCertificate.is_current.is_(True)).limit(1))
        signer = service.signer_for(db.session.get(SealCertificate, certificate_id))
        for index in range(rounds + 5):
            # As in the worker's seal job: a fresh transaction that has loaded the case and the certificate.
            db.session.remove()
            submission = db.session.get(Submission, submission_id)
            certificate = db.session.get(SealCertificate, certificate_id)
            start, cpu_start = time.perf_counter(), time.thread_time()
            records.append(seal_subject(submission), document_id=document_id, approval_id=None, field_name=field,
                           step="bench", actor={"staff": certificate.staff_id}, certificate=certificate,
                           signer=signer, signed_revision_sha256="0" * 64)
            elapsed, cpu = (time.perf_counter() - start) * 1000, (time.thread_time() - cpu_start) * 1000
            db.session.rollback()  # the chain stays as it was; the next sample appends the same record again
            if index >= 5:
                samples.append(elapsed)
                cpu_samples.append(cpu)
        db.session.remove()
    # This process's own CPU per record (on SQLite the database's work too): what a quiet machine approaches.
    print(f"seal bench: SQL seal record ({label}): median CPU time in this process "
          f"{statistics.median(cpu_samples):.3f} ms", file=sys.stderr)
    return benchlib.result(f"SQL seal record ({label})", samples, "ms", "median <= 1 ms", False)


def main() -> None:
    args = benchlib.arguments(__doc__.splitlines()[0])
    rounds, warm = (25, 5) if args.quick else (100, 10)
    results = []
    instance = benchlib.Instance().setup(demo=True)
    try:
        app, submission_id, document_id, field = _demo_case(instance)
        results += signing(app, document_id, field, rounds, warm)
        results.append(seal_record(app, submission_id, document_id, field, rounds * 4, "SQLite"))
    finally:
        instance.cleanup()
    url = benchlib.pg_url()
    if url is None:
        print("seal bench: MADOGUCHI_BENCH_PG_URL is not set: no PostgreSQL seal record row "
              "(scripts/bench/all starts a cluster and sets it)", file=sys.stderr)
    else:
        instance = benchlib.Instance(url).setup(demo=True)
        try:
            app, submission_id, document_id, field = _demo_case(instance)
            results.append(seal_record(app, submission_id, document_id, field, rounds * 4, "PostgreSQL"))
        finally:
            instance.cleanup()
    for row in results:
        if row.target == "median <= 1 ms":
            row.met = row.median <= 1
    benchlib.report("seal", results)


if __name__ == "__main__":
    main()
