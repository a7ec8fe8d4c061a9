"""Seal records: the SQL half of every seal, a signed hash chain per submission.

Each record signs the canonical JSON (sorted keys, UTF-8) of what was approved: the subject (the
submission, its form version, its round and the hashes of its content, which the caller computes), the
step, the decision, the actor and certificate, the time, the SHA-256 of the document revision the PDF
signature was applied to, and the previous record's hash. It verifies without any PDF, and it breaks
when an answer is changed in the database afterwards (the caller's content hashes no longer match).
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
from sqlalchemy.orm import make_transient_to_detached

from app.db import utcnow
from app.extensions import db
from app.seals import pki
from app.seals.models import SealCertificate, SealRecord

GENESIS = "0" * 64
#: The keys of ``SealSubject.content_hashes``, compared with today's at verification.
CONTENT_KEYS = ("answers_sha256", "sensitive_sha256", "attachments")


@dataclass(frozen=True)
class SealSubject:
    """What a seal is applied to, as data: the case's ids and the hashes of its content."""

    submission_id: int
    receipt_number: str | None
    #: "slug@version" of the form version the case was filled against.
    form: str
    round: int
    #: {"answers_sha256", "sensitive_sha256", "attachments": {field: sha256}}.
    content_hashes: dict


def canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Built once: constructing and caching a statement costs more than running it (the seal record's budget
# is 1 ms).
_LAST = (sa.select(SealRecord.seq, SealRecord.hash).where(SealRecord.submission_id == sa.bindparam("submission_id"))
         .order_by(SealRecord.seq.desc()).limit(1))
_INSERT = sa.insert(SealRecord.__table__).returning(SealRecord.__table__.c.id)


def _sign(signer, body: bytes) -> bytes:
    """The record's ECDSA-SHA256 signature. A loaded key (``KeySigner.sign_bytes``) signs directly; other
    signers (PKCS#11) through pyHanko's coroutine. ``asyncio.run`` builds and tears down an event loop
    per call, 0.15–0.5 ms here: more than the signature itself and most of a record's 1 ms budget."""
    sign_bytes = getattr(signer, "sign_bytes", None)
    if sign_bytes is not None:
        return sign_bytes(body)
    return asyncio.run(signer.async_sign_raw(body, "sha256"))


def append(subject: SealSubject, *, document_id: int, approval_id: int | None, field_name: str, step: str,
           actor: dict, certificate: SealCertificate, signer, signed_revision_sha256: str) -> SealRecord:
    # Core statements on the session's connection (same transaction): the ORM layer of Session.execute
    # would double their cost. Its autoflush is done here instead.
    db.session.flush()
    connection = db.session.connection()
    previous = connection.execute(_LAST, {"submission_id": subject.submission_id}).first()
    payload = {
        "submission": subject.submission_id,
        "receipt_number": subject.receipt_number,
        "form": subject.form,
        "round": subject.round,
        "step": step,
        "field": field_name,
        "decision": "approve",
        "actor": actor,
        "certificate": certificate.fingerprint,
        "time": utcnow().isoformat(),
        "document_sha256": signed_revision_sha256,
        "prev": previous.hash if previous else GENESIS,
        **{key: subject.content_hashes[key] for key in CONTENT_KEYS},
    }
    body = canonical(payload)
    signature = _sign(signer, body)
    row = dict(
        submission_id=subject.submission_id, seq=(previous.seq + 1) if previous else 1, document_id=document_id,
        approval_id=approval_id, field_name=field_name, certificate_id=certificate.id, payload=body.decode(),
        signature=signature, prev_hash=payload["prev"], hash=_sha256(body + signature),
        signed_revision_sha256=signed_revision_sha256, result_revision_sha256=None, created_at=utcnow(),
    )
    # A plain INSERT, then the object attached as already persistent: the ORM's unit of work would take
    # twice as long for this one row. Later changes to it (the resulting revision) are ordinary UPDATEs.
    record = SealRecord(id=connection.execute(_INSERT, row).scalar_one(), **row)
    make_transient_to_detached(record)
    db.session.add(record)
    return record


@dataclass
class ChainReport:
    ok: bool
    records: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def verify_chain(subject: SealSubject) -> ChainReport:
    """Check every seal record of a submission: linkage, hash, signature, and the content it sealed.

    Only records of the subject's (current) round are compared with its content hashes today: a
    returned case's earlier seals sealed earlier answers, which the resident was asked to change.
    """
    report = ChainReport(ok=True)
    records = db.session.scalars(sa.select(SealRecord).where(SealRecord.submission_id == subject.submission_id)
                                 .order_by(SealRecord.seq)).all()
    expected_prev = GENESIS
    now_hashes = subject.content_hashes
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
        if payload.get("round") == subject.round:
            for key in CONTENT_KEYS:
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
