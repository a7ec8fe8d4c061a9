"""Faxes of sealed documents: the FAX送付状 (cover sheet) and the sealed PDF as one TIFF Class F.

The document is never rendered again: its pages come from the sealed bytes the caller passes in.
Only the cover sheet is rendered here, from the plain values of a ``FaxCover`` (the registered
destination, the municipality and office, the receipt number and the verification code); it never
shows an answer, so no My Number can reach a fax.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import render_template
from flask_babel import force_locale

from app.documents import codes, fax
from app.documents.pdf import render_pdf
from app.i18n import JST

UNREGISTERED = "送付先未登録"


def _today_jst() -> dt.date:
    return dt.datetime.now(JST).date()


@dataclass(frozen=True)
class FaxCover:
    """What the cover sheet says. ``attempt`` > 1 prints 「再送（n回目）」."""

    to_name: str
    to_fax: str
    municipality: str
    office_name: str
    form_title: str
    receipt_number: str
    #: Canonical (16 characters); printed grouped.
    verification_code: str
    verify_url: str
    attempt: int = 1
    date: dt.date = field(default_factory=_today_jst)


def cover_context(cover: FaxCover, *, total_pages: int) -> dict:
    return {
        "to_name": cover.to_name or UNREGISTERED,
        "to_fax": cover.to_fax,
        "municipality": cover.municipality,
        "office_name": cover.office_name,
        "date_text": cover.date.strftime("%Y年%m月%d日"),
        "total_pages": total_pages,
        "form_title": cover.form_title,
        "receipt_number": cover.receipt_number,
        "verification_code": codes.format_code(cover.verification_code),
        "verify_url": cover.verify_url,
        "attempt": cover.attempt,
    }


def render_cover(cover: FaxCover, *, total_pages: int) -> bytes:
    with force_locale("ja"):
        html = render_template("pdf/fax_cover.html", **cover_context(cover, total_pages=total_pages))
    return render_pdf(html, title="FAX送付状")


def render_fax(sealed_pdf: bytes, cover: FaxCover, *, resolution: str = "fine", compression: str = "g4") -> bytes:
    """TIFF Class F: the cover sheet (page 1), then every page of ``sealed_pdf`` as it is."""
    fax.y_dpi(resolution)  # fail early on a bad option
    if compression not in fax.COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(fax.COMPRESSIONS)}")
    if cover.attempt < 1:
        raise ValueError("attempt starts at 1")
    total = fax.page_count(sealed_pdf) + 1
    cover_pdf = render_cover(cover, total_pages=total)
    cover_pages = fax.page_count(cover_pdf)
    if cover_pages != 1:  # the template fits one page; if it ever grows, count right anyway
        cover_pdf = render_cover(cover, total_pages=total - 1 + cover_pages)
    return fax.compose(cover_pdf, sealed_pdf, resolution=resolution, compression=compression)
