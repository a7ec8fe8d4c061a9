"""Seal records: the SQL half of every seal, a signed hash chain per submission.

Each record signs the canonical JSON (sorted keys, UTF-8) of what was approved: the submission, its
form version, the SHA-256 of the answers, of the sensitive answers and of each attachment, the step,
the decision, the actor and certificate, the time, the SHA-256 of the document revision the PDF
signature was applied to, and the previous record's hash. It verifies without any PDF, and it breaks
when an answer is changed in the database afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from app.db import utcnow
from app.extensions import db
from app.seals import pki
from app.seals.models import SealCertificate, SealRecord
from app.submissions.models import Submission
from app.submissions.service import read_sensitive

GENESIS = "0" * 64


def canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hashes(submission: Submission) -> dict:
    """The hashes a seal commits to: recomputed at verification to detect a changed answer."""
    return {
        "answers_sha256": _sha256(canonical(submission.answers)),
        "sensitive_sha256": _sha256(canonical(read_sensitive(submission))),
        "attachments": {a.field_name: a.sha256 for a in submission.attachments},
    }


def _last(submission_id: int) -> SealRecord | None:
    return db.session.scalar(sa.select(SealRecord).where(SealRecord.submission_id == submission_id)
                             .order_by(SealRecord.seq.desc()).limit(1))


def append(submission: Submission, *, document_id: int, approval_id: int | None, field_name: str, step: str,
           actor: dict, certificate: SealCertificate, signer, signed_revision_sha256: str) -> SealRecord:
    previous = _last(submission.id)
    payload = {
        "submission": submission.id,
        "receipt_number": submission.receipt_number,
        "form": f"{submission.form_version.slug}@{submission.form_version.version}",
        "round": submission.round,
        "step": step,
        "field": field_name,
        "decision": "approve",
        "actor": actor,
        "certificate": certificate.fingerprint,
        "time": utcnow().isoformat(),
        "document_sha256": signed_revision_sha256,
        "prev": previous.hash if previous else GENESIS,
        **content_hashes(submission),
    }
    body = canonical(payload)
    signature = asyncio.run(signer.async_sign_raw(body, "sha256"))
    record = SealRecord(
        submission_id=submission.id, seq=(previous.seq + 1) if previous else 1, document_id=document_id,
        approval_id=approval_id, field_name=field_name, certificate_id=certificate.id, payload=body.decode(),
        signature=signature, prev_hash=payload["prev"], hash=_sha256(body + signature),
        signed_revision_sha256=signed_revision_sha256,
    )
    db.session.add(record)
    db.session.flush()
    return record


@dataclass
class ChainReport:
    ok: bool
    records: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def verify_chain(submission: Submission) -> ChainReport:
    """Check every seal record of a submission: linkage, hash, signature, and the content it sealed.

    Only records of the current round are compared with today's answers: a returned case's earlier
    seals sealed earlier answers, which the resident was asked to change.
    """
    report = ChainReport(ok=True)
    records = db.session.scalars(sa.select(SealRecord).where(SealRecord.submission_id == submission.id)
                                 .order_by(SealRecord.seq)).all()
    expected_prev = GENESIS
    now_hashes = content_hashes(submission)
    for record in records:
        payload = json.loads(record.payload)
        step = payload.get("step", "?")
        entry = {"seq": record.seq, "step": step, "field": record.field_name, "time": payload.get("time"),
                 "certificate": record.certificate.subject, "ok": True}
        problems = []
        if record.prev_hash != expected_prev or payload.get("prev") != expected_prev:
            problems.append("the chain is broken (previous seal hash differs)")
        if _sha256(record.payload.encode() + record.signature) != record.hash:
            problems.append("the record's hash does not match")
        cert = pki.load_cert(record.certificate.cert_pem.encode())
        try:
            cert.public_key().verify(record.signature, record.payload.encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            problems.append("the seal's signature is invalid")
        if payload.get("round") == submission.round:
            for key in ("answers_sha256", "sensitive_sha256", "attachments"):
                if payload.get(key) != now_hashes[key]:
                    problems.append("the answers were changed after this seal" if key != "attachments"
                                    else "an attachment was changed after this seal")
        if problems:
            entry["ok"] = False
            report.ok = False
            report.problems.extend(f"seal {record.seq} ({step}): {p}" for p in problems)
        report.records.append(entry)
        expected_prev = record.hash
    return report
