"""Seal imprints (印影, drawn as SVG by ``app.seals.imprint``) as the one-page PDF a signature field
shows: pyHanko's static stamp appearance. No Flask imports."""

from __future__ import annotations

from app.documents import pdf

DEFAULT_MM = 24
#: The imprints' thinnest stroke is 0.6 mm at 24 mm; below 15 mm it would be under 1 pt (fax-safe rule).
MIN_SIZE_MM = 15


def stamp_pdf(svg: str, size_mm: float = DEFAULT_MM) -> bytes:
    """A one-page PDF exactly ``size_mm`` square showing ``svg`` (an ``imprint_svg``/``org_seal_svg`` result).

    Rendered by WeasyPrint with the asset-only fetcher and our fonts; no background, so the printed
    box frame stays visible around the stamp. Use as pyHanko's ``StaticStampStyle`` appearance.
    """
    if size_mm < MIN_SIZE_MM:
        raise ValueError(f"a stamp under {MIN_SIZE_MM} mm would have strokes under 1 pt")
    if not svg.lstrip().startswith("<svg"):
        raise ValueError("stamp_pdf takes an <svg> element")
    html = (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>印影</title></head><body>'
        f"{svg}</body></html>"
    )
    css = (f"@page {{ size: {size_mm}mm {size_mm}mm; margin: 0 }}"
           f"html, body {{ margin: 0; padding: 0; background: none }}"
           f"svg {{ display: block; width: {size_mm}mm; height: {size_mm}mm }}")
    return pdf.render_plain_pdf(html, stylesheets=[css], title="印影")
