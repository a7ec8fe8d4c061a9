"""Faxes of approved documents: the FAX送付状 and the stored sealed PDF as one TIFF Class F.

The document is never rendered again: its pages come from the latest stored revision (the sealed
bytes, ``latest_sealed_bytes``). Only the cover sheet is rendered here, from trusted values (the
registered destination, the municipality and office, the receipt number and the verification code);
it never shows an answer, so no My Number can reach a fax.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale

from app.documents import codes, fax
from app.documents.service import current_document, latest_sealed_bytes
from app.errors import DomainError, NotFound

JST = dt.timezone(dt.timedelta(hours=9))
#: The reason of the revision that carries the organisation seal (app/seals/apply.py): the document is final.
SEALED_REASON = "org-seal"
UNREGISTERED = "送付先未登録"


class NotSealed(DomainError):
    code = "not_sealed"
    status = 409


@dataclass(frozen=True)
class FaxDestination:
    code: str
    name: str
    fax_number: str


def _attr(source, *names):
    for name in names:
        value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
        if value not in (None, ""):
            return value
    return None


def as_destination(source) -> FaxDestination:
    """A dict ``{code, name, fax_number}`` or any object with those attributes (``name`` may be a
    {ja, en} mapping; ``name_ja`` and ``fax`` are accepted as well)."""
    name = _attr(source, "name_ja", "name")
    if isinstance(name, Mapping):
        name = name.get("ja") or next(iter(name.values()), None)
    return FaxDestination(code=str(_attr(source, "code") or ""), name=str(name or UNREGISTERED),
                          fax_number=str(_attr(source, "fax_number", "fax") or ""))


def find_destination(code: str) -> FaxDestination | None:
    """A registered destination by code, through ``app.delivery.destinations.find`` when it exists."""
    try:
        from app.delivery.destinations import find
    except ImportError:
        return None
    found = find(code)
    return as_destination(found) if found is not None else None


def default_destination(submission) -> FaxDestination:
    """The form's first registered destination that has a fax number (else its first one), or a placeholder."""
    codes_ = list(submission.form_version.definition.get("destinations") or [])
    found = [d for d in (find_destination(code) for code in codes_) if d is not None]
    for destination in found:
        if destination.fax_number:
            return destination
    if found:
        return found[0]
    return FaxDestination(code=codes_[0] if codes_ else "", name=UNREGISTERED, fax_number="")


def sealed_document(submission):
    """The current approval document, if its latest revision carries the organisation seal."""
    document = current_document(submission)
    if document is None or document.latest is None:
        raise NotFound(f"no approval document for {submission.receipt_number}")
    if document.latest.reason != SEALED_REASON:
        raise NotSealed(f"the document of {submission.receipt_number} is not sealed yet (not approved)")
    return document


def cover_context(submission, document, destination: FaxDestination, *, total_pages: int, attempt: int) -> dict:
    config = current_app.config
    office = getattr(submission.form_version, "office", None)
    return {
        "to_name": destination.name,
        "to_fax": destination.fax_number,
        "municipality": config["MADOGUCHI_MUNICIPALITY"],
        "office_name": office.name_ja if office is not None else "",
        "date_text": dt.datetime.now(JST).strftime("%Y年%m月%d日"),
        "total_pages": total_pages,
        "form_title": submission.form_version.title_ja,
        "receipt_number": submission.receipt_number,
        "verification_code": codes.format_code(document.verification_code),
        "verify_url": f"{config['MADOGUCHI_BASE_URL']}/verify/{document.verification_code}",
        "attempt": attempt,
    }


def render_cover(submission, document, destination: FaxDestination, *, total_pages: int, attempt: int = 1) -> bytes:
    from app.documents.pdf import render_pdf

    with force_locale("ja"):
        html = render_template("pdf/fax_cover.html", **cover_context(
            submission, document, destination, total_pages=total_pages, attempt=attempt))
    return render_pdf(html, title="FAX送付状")


def render_fax(submission, destination=None, *, resolution: str = "fine", compression: str = "g4",
               attempt: int = 1) -> bytes:
    """TIFF Class F: the cover sheet (page 1), then every page of the sealed approval document.

    ``destination``: a dict ``{code, name, fax_number}`` or an object with those attributes; ``None``
    takes the form's registered destination. ``attempt`` > 1 prints 「再送（n回目）」 on the cover.
    Raises ``NotFound`` (no document) or ``NotSealed`` (not approved yet).
    """
    fax.y_dpi(resolution)  # fail early on a bad option
    if compression not in fax.COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(fax.COMPRESSIONS)}")
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    document = sealed_document(submission)
    target = as_destination(destination) if destination is not None else default_destination(submission)
    sealed = latest_sealed_bytes(submission.receipt_number)
    total = fax.page_count(sealed) + 1
    cover = render_cover(submission, document, target, total_pages=total, attempt=attempt)
    cover_pages = fax.page_count(cover)
    if cover_pages != 1:  # the template fits one page; if it ever grows, count right anyway
        cover = render_cover(submission, document, target, total_pages=total - 1 + cover_pages, attempt=attempt)
    return fax.compose(cover, sealed, resolution=resolution, compression=compression)
