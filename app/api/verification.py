"""Verification for anyone: by verification code, by uploaded PDF, from the CLI.

Certificate status comes from the service's own CRL, never from a network fetch, so the CLI works
offline. The summary carries no personal data beyond what the document itself shows: the form, the
receipt number, each seal's signer (name, office, organisation), time and certificate status, and for
a document the service stored, what it printed (``app.api.document_contents``: the printed answers and
images of its pages, within the retention), so the holder of a paper copy can compare it line by line.

An upload is first looked up by its SHA-256 among the stored revisions: a document the service issued
is then checked from the stored bytes (read back against their hash). Either way the PDF is parsed
only in the verification child (``app.seals.verify_pool``), under CPU, memory and time limits: a file
built to be expensive raises ``VerificationTooCostly`` and costs the web process nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from flask import current_app

from app.api.document_contents import contents, seal_labels
from app.documents import codes
from app.documents.models import Document, DocumentRevision
from app.documents.service import document_by_code, read_bytes
from app.extensions import db
from app.seals import pki, records, service
from app.seals.reports import Report, VerificationTooCostly
from app.seals.verify_pool import verify_pool
from app.submissions.models import Submission
from app.workflow.sealing import seal_subject
from app.workflow.service import ORG_SEAL

GENUINE_NEEDS = "every signature intact, valid, trusted against the service's root, nothing changed after it"
#: Uploads to /verify and /api/v1/verify: a sealed document is far smaller; form uploads keep 12 MB.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

__all__ = ["MAX_UPLOAD_BYTES", "VerificationTooCostly", "verify_bytes", "verify_code", "verify_upload"]


def _timestamp_roots(root) -> list:
    path = current_app.config.get("MADOGUCHI_TSA_ROOT")
    roots = [root]
    if path:
        roots.append(pki.load_cert(Path(path).read_bytes()))
    return roots


#: verify_pdf's reports of recently checked files. A report depends only on the file's bytes, the trust
#: anchors, the CRLs and the time; the key holds the first three, so a new CRL (a revocation) or a
#: rotated certificate is checked afresh at once, and the time is bounded by the age limit. The
#: validation is about 270 ms of CPU for three seals while the lookup is a millisecond, and the same
#: code is looked up again and again (each office that receives a fax, each QR scan of a printout).
#: Per process, on purpose: with several web nodes each keeps its own, and a miss only costs the
#: validation, since the key holds everything the report depends on (no node can serve a stale one).
REPORT_MAX_AGE = 300.0
REPORT_CACHE_SIZE = 256
_reports: OrderedDict[tuple, tuple[float, Report]] = OrderedDict()
_reports_lock = threading.Lock()


def _pdf_report(data: bytes) -> Report:
    roots, intermediates = [service.root_certificate()], service.chain_certificates()
    crls, timestamp_roots = service.all_latest_crls(), _timestamp_roots(roots[0])
    key = (
        hashlib.sha256(data).digest(),
        tuple(hashlib.sha256(crl).digest() for crl in crls),
        tuple(cert.fingerprint(hashes.SHA256()) for cert in (*roots, *intermediates, *timestamp_roots)),
    )
    now = time.monotonic()
    with _reports_lock:
        cached = _reports.get(key)
        if cached is not None and now - cached[0] < REPORT_MAX_AGE:
            _reports.move_to_end(key)
            return cached[1]
    report = verify_pool().verify(data, trust_roots=roots, intermediates=intermediates, crls=crls,
                                  timestamp_roots=timestamp_roots)
    with _reports_lock:
        _reports[key] = (now, report)
        _reports.move_to_end(key)
        while len(_reports) > REPORT_CACHE_SIZE:
            _reports.popitem(last=False)
    return report


def verify_upload(data: bytes) -> dict:
    """An uploaded file: a stored revision with the same SHA-256 is checked from the stored bytes."""
    document = _document_for(data)
    if document is not None:
        data = read_bytes(hashlib.sha256(data).hexdigest())
    return verify_bytes(data, document=document)


def verify_bytes(data: bytes, *, document: Document | None = None) -> dict:
    """The JSON summary: {"genuine", "document", "seals", "problems", "printed_fields", "page_images",
    "retained_until", "content_withheld"}; ``VerificationTooCostly`` when checking the file hits the
    verification child's limits.

    The seal records are checked against the database every time; only the PDF's report is reused.
    What the document says is given for a document the service stored (found by its code, or by the
    exact bytes of one of its revisions); for any other file it is None.
    """
    report = _pdf_report(data)
    problems = list(report.problems)
    if document is None:
        document = _document_for(data)
    summary_document = None
    genuine = report.genuine
    content = {"printed_fields": None, "page_images": [], "retained_until": None, "content_withheld": None}
    labels: dict = {}
    if document is not None:
        submission = db.session.get(Submission, document.submission_id)
        summary_document = _describe(document, submission, data)
        content = contents(document, submission)
        labels = seal_labels(submission)
        if document.kind == "approval":
            chain = records.verify_chain(seal_subject(submission))
            summary_document["seal_records_ok"] = chain.ok
            if not chain.ok:
                genuine = False
                problems.extend(chain.problems)
    seals = [
        {
            "field": s.field,
            "kind": s.kind,
            "signer": s.signer_subject,
            "signed_at": s.signing_time.isoformat() if s.signing_time else None,
            "signing_time_trusted": s.timestamp_trusted,
            "certificate_status": ("revoked" if s.revoked else
                                   "revoked_later" if s.revoked_at else "good"),
            "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
            "revocation_reason": s.revocation_reason,
            "intact": s.intact,
            "valid": s.valid,
            "trusted": s.trusted,
            "ok": s.ok,
            "problems": s.problems,
            #: The seal as people name it ({ja, en}: 「受付（市民課）」), when the document is the service's.
            "label": labels.get(s.field),
        }
        for s in report.signatures
    ]
    if summary_document is not None:
        summary_document["final"] = _is_final(seals)
    return {"genuine": genuine, "document": summary_document, "seals": seals, "problems": problems, **content}


def _document_for(data: bytes) -> Document | None:
    """The stored document whose revision these exact bytes are, if any."""
    sha256 = hashlib.sha256(data).hexdigest()
    return db.session.scalar(sa.select(Document).join(DocumentRevision).where(DocumentRevision.sha256 == sha256)
                             .limit(1))


def _describe(document: Document, submission: Submission, data: bytes) -> dict:
    latest = document.latest
    return {
        "kind": document.kind,
        "form": submission.form_version.title_ja,
        "form_en": submission.form_version.title_en,
        "receipt_number": submission.receipt_number,
        "verification_code": codes.format_code(document.verification_code) if document.verification_code else None,
        "state": document.state,
        "is_latest_revision": latest is not None and latest.sha256 == hashlib.sha256(data).hexdigest(),
    }


def _is_final(result_seals: list[dict]) -> bool:
    return any(s["field"] == ORG_SEAL and s["ok"] for s in result_seals)


def verify_code(code: str) -> dict | None:
    """Look a document up by its verification code and verify its latest stored revision."""
    document = document_by_code(code)
    if document is None or document.latest is None:
        return None
    return verify_bytes(read_bytes(document.latest.sha256), document=document)
