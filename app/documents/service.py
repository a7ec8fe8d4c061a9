"""Documents of a case: rendered once, stored by SHA-256, sealed by incremental revisions.

This module takes data, not cases: a submission is an id, a round a number, what is printed a
template and its context. Which fields a document shows and where its seals go is the workflow's
business (``app.workflow.rendering``). Services flush; the caller commits.
"""

from __future__ import annotations

import atexit
import json

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale

from app.db import utcnow
from app.documents import blobs, codes
from app.documents.models import Document, DocumentRevision
from app.extensions import db


def read_bytes(sha256: str) -> bytes:
    """A stored document revision, checked against its hash."""
    return blobs.get("documents", sha256)


def add_revision(document: Document, data: bytes, reason: str) -> DocumentRevision:
    sha256 = blobs.put("documents", data)
    revision = DocumentRevision(seq=len(document.revisions) + 1, sha256=sha256, size=len(data), reason=reason)
    document.revisions.append(revision)
    db.session.flush()
    return revision


def current_document(submission_id: int, kind: str = "approval") -> Document | None:
    return db.session.scalar(
        sa.select(Document).where(Document.submission_id == submission_id, Document.kind == kind,
                                  Document.state == "current").order_by(Document.id.desc()).limit(1)
    )


def new_document(submission_id: int, kind: str, round_: int, *, printed: list | None = None,
                 verifiable: bool = True) -> Document:
    """A new current document of ``kind``; the previous one is superseded.

    ``verifiable``: it carries seals, so it gets its own verification code to print. ``printed``: what it
    prints, as text (kept for verification).
    """
    for old in db.session.scalars(sa.select(Document).where(
            Document.submission_id == submission_id, Document.kind == kind, Document.state == "current")):
        old.state, old.superseded_at = "superseded", utcnow()
    document = Document(submission_id=submission_id, kind=kind, round=round_, printed=printed,
                        verification_code=codes.new_verification_code() if verifiable else None)
    db.session.add(document)
    db.session.flush()
    return document


def record_render_failure(submission_id: int, round_: int, reason: str) -> Document:
    """Shown to staff on the case page: the round's document could not be rendered."""
    document = current_document(submission_id) or new_document(submission_id, "approval", round_)
    document.render_error = reason[:500]
    db.session.flush()
    return document


def store_page_images(revision: DocumentRevision, images: list[bytes]) -> None:
    """Keep PNG images of a revision's pages (content-addressed, like the PDF). Flushes."""
    revision.page_images = [blobs.put("pages", image) for image in images]
    db.session.flush()


def page_image(sha256: str) -> bytes:
    """One stored page image, checked against its hash."""
    return blobs.get("pages", sha256)


def document_by_code(code: str) -> Document | None:
    normalised = codes.normalise_code(code)
    if not normalised:
        return None
    return db.session.scalar(sa.select(Document).where(Document.verification_code == normalised))


# ---- rendering (worker) -------------------------------------------------------------------------------

_pool = None


def render_pool():
    """The worker's warm render process (WeasyPrint imported once), with CPU, memory and time limits.

    Imported here, not at the top: web processes never render, and WeasyPrint would cost them memory.
    """
    global _pool
    if _pool is None:
        from app.documents.render_pool import RenderPool

        _pool = RenderPool()
        atexit.register(_pool.close)
    return _pool


def render_input(template: str, context: dict, *, data: dict, title: str) -> dict:
    """What the render process is given: ``html`` (the template in Japanese), ``attachments`` (``data``
    as the document's JSON attachment) and ``title``. Separate from ``render`` so that
    scripts/bench/render.py times the very input the worker renders."""
    with force_locale("ja"):
        html = render_template(template, **context)
    attachment = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1).encode()
    return {"html": html, "attachments": [("answers.json", attachment)], "title": title}


def render(template: str, context: dict, *, data: dict, title: str, pool=None) -> tuple[bytes, dict]:
    """PDF/A-3b bytes and the boxes of the elements the workflow places seals in (``seal-*``)."""
    request = render_input(template, context, data=data, title=title)
    return (pool or render_pool()).render(request.pop("html"), **request)
