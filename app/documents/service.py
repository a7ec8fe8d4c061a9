"""Rendering a submission's documents (in the worker) and storing their bytes by SHA-256.

The approval document is rendered once per round, with an empty signature field for every approval
of the route and one for the organisation seal; it is never rendered again. Seals are incremental
updates stored as new revisions. Fields marked never-on-paper (My Number always) are left out of
the document and of its JSON attachment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup

from app.catalogue.definition import localized
from app.db import utcnow
from app.documents import codes
from app.documents.models import Document, DocumentRevision
from app.errors import NotFound
from app.extensions import db
from app.submissions.models import Submission
from app.submissions.presenters import answer_rows
from app.submissions.service import visible_fields, visible_pages

ORG_SEAL_FIELD = "org-seal"
JST = dt.timezone(dt.timedelta(hours=9))


# ---- bytes on disk --------------------------------------------------------------------------------


def _path(sha256: str) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "documents" / sha256[:2] / f"{sha256}.pdf"


def store_bytes(data: bytes) -> str:
    """Write content-addressed bytes (atomically) and return their SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = _path(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    return sha256


def read_bytes(sha256: str) -> bytes:
    data = _path(sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"stored document {sha256} does not match its hash")
    return data


def add_revision(document: Document, data: bytes, reason: str) -> DocumentRevision:
    sha256 = store_bytes(data)
    revision = DocumentRevision(seq=len(document.revisions) + 1, sha256=sha256, size=len(data), reason=reason)
    document.revisions.append(revision)
    db.session.flush()
    return revision


# ---- what is printed --------------------------------------------------------------------------------


def printable_fields(submission: Submission):
    """(page, field) pairs that are asked and may be printed: never My Number or ``print: false``."""
    definition = submission.form_version.definition
    for page in visible_pages(definition, submission.answers):
        for field in visible_fields(page, submission.answers):
            if field.get("print", True) and field["type"] != "mynumber":
                yield page, field


def printable_answers(submission: Submission) -> dict:
    """The answers embedded as the document's JSON attachment."""
    return {field["name"]: submission.answers.get(field["name"]) for _page, field in printable_fields(submission)}


def field_names(submission: Submission) -> list[dict]:
    """One signature field per approval of the route (a 合議 step: one per office), in order."""
    from app.accounts.models import Office

    names = {o.code: o for o in db.session.scalars(sa.select(Office))}
    fields = []
    for index, step in enumerate(submission.route):
        for code in step.get("offices") or [step["office"]]:
            fields.append({"field_name": step_field_name(index, step["step"], code),
                           "step_name": localized(step["name"], "ja"), "office_name": names[code].name_ja})
    return fields


def step_field_name(index: int, step_key: str, office_code: str) -> str:
    return f"step-{index + 1}-{step_key}-{office_code}"


def _sections(submission: Submission) -> list[dict]:
    printable = {field["name"] for _page, field in printable_fields(submission)}
    sections = answer_rows(submission, "ja", editable=False, reveal_sensitive=False, include=printable,
                           attachment_endpoint=None)
    return [s for s in sections if s["rows"]]


def _context(submission: Submission, document: Document, *, with_seals: bool) -> dict:
    config = current_app.config
    verify_url = f"{config['MADOGUCHI_BASE_URL']}/verify/{document.verification_code}"
    return {
        "municipality": config["MADOGUCHI_MUNICIPALITY"],
        "org_name": config["MADOGUCHI_MUNICIPALITY"],
        "form_title": submission.form_version.title_ja,
        "form_version": submission.form_version.version,
        "receipt_number": submission.receipt_number,
        "verification_code": codes.format_code(document.verification_code),
        "verify_url": verify_url,
        "qr_svg": Markup(codes.qr_svg(verify_url)),
        "submitted_at_text": submission.submitted_at.astimezone(JST).strftime("%Y年%m月%d日 %H:%M"),
        "generated_at_text": utcnow().astimezone(JST).strftime("%Y年%m月%d日 %H:%M"),
        "sections": _sections(submission),
        "route": field_names(submission) if with_seals else [],
        "org_seal_field": ORG_SEAL_FIELD,
    }


# ---- rendering (worker) -------------------------------------------------------------------------------

_pool = None


def render_pool():
    """The worker's warm render process (WeasyPrint imported once), with CPU, memory and time limits."""
    global _pool
    if _pool is None:
        import atexit

        from app.documents.pdf import RenderPool

        _pool = RenderPool()
        atexit.register(_pool.close)
    return _pool



def current_document(submission: Submission, kind: str = "approval") -> Document | None:
    return db.session.scalar(
        sa.select(Document).where(Document.submission_id == submission.id, Document.kind == kind,
                                  Document.state == "current").order_by(Document.id.desc()).limit(1)
    )


def _new_document(submission: Submission, kind: str) -> Document:
    for old in db.session.scalars(sa.select(Document).where(
            Document.submission_id == submission.id, Document.kind == kind, Document.state == "current")):
        old.state, old.superseded_at = "superseded", utcnow()
    document = Document(submission_id=submission.id, kind=kind, round=submission.round,
                        verification_code=codes.new_verification_code())
    db.session.add(document)
    db.session.flush()
    return document


def render_documents(submission: Submission, pool) -> Document:
    """Render the receipt (first time only) and this round's approval document with its empty fields.

    Idempotent per round: a retried job finds the round's document and renders nothing.
    """
    from app.seals.sign import FieldSpec, add_signature_fields

    existing = current_document(submission)
    if existing is not None and existing.round == submission.round and existing.revisions:
        return existing
    if current_document(submission, "receipt") is None:
        receipt = _new_document(submission, "receipt")
        data, _boxes = _render(pool, "pdf/receipt.html", submission, receipt, with_seals=False)
        add_revision(receipt, data, "rendered")
    document = _new_document(submission, "approval")
    data, boxes = _render(pool, "pdf/approval.html", submission, document, with_seals=True)
    names = [f["field_name"] for f in field_names(submission)] + [ORG_SEAL_FIELD]
    # The organisation seal's field carries the lock (FieldMDP All + DocMDP no changes): it signs last.
    specs = [FieldSpec(name, *boxes[f"seal-{name}"], lock=name == ORG_SEAL_FIELD) for name in names]
    add_revision(document, add_signature_fields(data, specs), "rendered")
    return document


def document_input(template: str, submission: Submission, document: Document, *, with_seals: bool) -> dict:
    """What the render process is given for a document: ``html``, ``attachments`` and ``title``.

    Separate from ``_render`` so that scripts/bench/render.py times the very input the worker renders.
    """
    with force_locale("ja"):
        html = render_template(template, **_context(submission, document, with_seals=with_seals))
    attachment = json.dumps(printable_answers(submission), ensure_ascii=False, sort_keys=True, indent=1).encode()
    return {"html": html, "attachments": [("answers.json", attachment)], "title": submission.form_version.title_ja}


def _render(pool, template: str, submission: Submission, document: Document, *, with_seals: bool):
    request = document_input(template, submission, document, with_seals=with_seals)
    return pool.render(request.pop("html"), **request)


def record_render_failure(submission: Submission, reason: str) -> Document:
    document = current_document(submission) or _new_document(submission, "approval")
    document.render_error = reason[:500]
    db.session.flush()
    return document


def latest_sealed_bytes(receipt_number: str) -> bytes:
    """The latest revision of the current approval document of a submission (for export)."""
    submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt_number))
    document = current_document(submission) if submission else None
    if document is None or document.latest is None:
        raise NotFound(f"no approval document for {receipt_number}")
    return read_bytes(document.latest.sha256)


def document_by_code(code: str) -> Document | None:
    normalised = codes.normalise_code(code)
    if not normalised:
        return None
    return db.session.scalar(sa.select(Document).where(Document.verification_code == normalised))
