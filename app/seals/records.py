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
from sqlalchemy.orm import make_transient_to_detached

from app.catalogue.models import FormVersion
from app.db import utcnow
from app.extensions import db
from app.seals import pki
from app.seals.models import SealCertificate, SealRecord
from app.submissions.models import Attachment, Submission
from app.submissions.service import read_sensitive

GENESIS = "0" * 64


def canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hashes(submission: Submission) -> dict:
    """The hashes a seal commits to: recomputed at verification to detect a changed answer."""
    return _content_hashes(submission, {a.field_name: a.sha256 for a in submission.attachments})


def _content_hashes(submission: Submission, attachments: dict[str, str]) -> dict:
    return {
        "answers_sha256": _sha256(canonical(submission.answers)),
        "sensitive_sha256": _sha256(canonical(read_sensitive(submission))),
        "attachments": attachments,
    }


def _chain_context_query() -> sa.CompoundSelect:
    """What a new record needs from the database, in one round trip: rows of (kind, a, b, position) —
    ("form", slug, version), ("prev", seq, hash) of the chain's last record if any, and ("attachment",
    field name, sha256) in the order of ``Submission.attachments`` (by id, as ``content_hashes`` reads them).
    """
    last = (sa.select(SealRecord.seq, SealRecord.hash).where(SealRecord.submission_id == sa.bindparam("submission_id"))
            .order_by(SealRecord.seq.desc()).limit(1).subquery())
    query = sa.union_all(
        sa.select(sa.literal_column("'form'").label("kind"), FormVersion.slug.label("a"),
                  sa.cast(FormVersion.version, sa.String).label("b"), sa.literal_column("0").label("position"))
        .where(FormVersion.id == sa.bindparam("form_version_id")),
        sa.select(sa.literal_column("'prev'"), sa.cast(last.c.seq, sa.String), last.c.hash, sa.literal_column("0")),
        sa.select(sa.literal_column("'attachment'"), Attachment.field_name, Attachment.sha256, Attachment.id)
        .where(Attachment.submission_id == sa.bindparam("submission_id")),
    )
    return query.order_by(sa.literal_column("position"))


# Built once: constructing and caching a statement costs more than running it (the seal record's budget
# is 1 ms; the three ORM loads this replaces — last record, form version, attachments — took ~1.5 ms).
_CHAIN_CONTEXT = _chain_context_query()
_INSERT = sa.insert(SealRecord.__table__).returning(SealRecord.__table__.c.id)


def _sign(signer, body: bytes) -> bytes:
    """The record's ECDSA-SHA256 signature. A loaded key (``KeySigner.sign_bytes``) signs directly; other
    signers (PKCS#11) through pyHanko's coroutine. ``asyncio.run`` builds and tears down an event loop
    per call, 0.15–0.5 ms here: more than the signature itself and most of a record's 1 ms budget."""
    sign_bytes = getattr(signer, "sign_bytes", None)
    if sign_bytes is not None:
        return sign_bytes(body)
    return asyncio.run(signer.async_sign_raw(body, "sha256"))


def append(submission: Submission, *, document_id: int, approval_id: int | None, field_name: str, step: str,
           actor: dict, certificate: SealCertificate, signer, signed_revision_sha256: str) -> SealRecord:
    # Core statements on the session's connection (same transaction): the ORM layer of Session.execute
    # would double their cost. Its autoflush is done here instead, so pending attachments are read.
    db.session.flush()
    connection = db.session.connection()
    form, previous, attachments = "", None, {}
    for kind, a, b, _position in connection.execute(
            _CHAIN_CONTEXT, {"submission_id": submission.id, "form_version_id": submission.form_version_id}):
        if kind == "form":
            form = f"{a}@{b}"
        elif kind == "prev":
            previous = (int(a), b)
        else:
            attachments[a] = b
    payload = {
        "submission": submission.id,
        "receipt_number": submission.receipt_number,
        "form": form,
        "round": submission.round,
        "step": step,
        "field": field_name,
        "decision": "approve",
        "actor": actor,
        "certificate": certificate.fingerprint,
        "time": utcnow().isoformat(),
        "document_sha256": signed_revision_sha256,
        "prev": previous[1] if previous else GENESIS,
        **_content_hashes(submission, attachments),
    }
    body = canonical(payload)
    signature = _sign(signer, body)
    row = dict(
        submission_id=submission.id, seq=(previous[0] + 1) if previous else 1, document_id=document_id,
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
