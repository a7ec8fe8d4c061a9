"""The drawings of seal imprints (印影): a round date stamp (日付印) per approver and a square 角印 for the
organisation, as SVG. ``app.documents.stamp.stamp_pdf`` renders one as the one-page PDF that the
signature field shows (pyHanko's static stamp appearance).

No Flask imports. Fax-safe: pure black, no fills but the text, every stroke ≥ 1 pt at the default 24 mm
(strokes scale with the stamp; the renderer refuses sizes that would take them under 1 pt). Text is
SVG ``<text>`` in BIZ UD Gothic (bold), rendered through the documents' asset fetcher, and every piece
of text is XML-escaped.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata

# bandit B406: escapes text we write into SVG; parses nothing
from xml.sax.saxutils import escape  # nosec B406

VIEW = 240  # viewBox units per side: 0.1 mm at the default 24 mm
DEFAULT_MM = 24
MIN_STROKE = 6  # thinnest stroke in viewBox units: 0.6 mm at 24 mm = 1.7 pt
_FONT = "font-family=\"'Madoguchi BIZ UDGothic', 'Madoguchi IPAexGothic'\" font-weight=\"700\""

#: (first day, letter) of each era, newest first.
ERAS = ((dt.date(2019, 5, 1), "R"), (dt.date(1989, 1, 8), "H"), (dt.date(1926, 12, 25), "S"))


def wareki(date: dt.date) -> str:
    """The date as a stamp prints it: ``R7.11.22`` (令和7年11月22日)."""
    for start, letter in ERAS:
        if date >= start:
            return f"{letter}{date.year - start.year + 1}.{date.month}.{date.day}"
    return f"{date.year}.{date.month}.{date.day}"


def _clean(text: str) -> str:
    """Printable text only: control and format characters dropped, surrounding space trimmed."""
    return "".join(ch for ch in str(text) if unicodedata.category(ch)[0] != "C").strip()


def _ems(text: str) -> float:
    """Width of ``text`` in em in BIZ UDGothic (monospaced: full-width 1 em, half-width 0.5 em)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.5 for ch in text) or 0.5


def _fitted_text(text: str, cx: float, cy: float, width: float, max_size: float, min_size: float) -> str:
    """One line of text centred on (cx, cy), as large as fits ``width`` (squeezed sideways below min)."""
    text = _clean(text)
    ems = _ems(text)
    size = max(min(max_size, width / ems), min_size)
    baseline = cy + size * 0.36  # optical centre of Gothic glyphs in the em box
    element = (f'<text x="{cx:.1f}" y="{baseline:.1f}" font-size="{size:.1f}" text-anchor="middle" '
               f'fill="#000" {_FONT}>{escape(text)}</text>')
    if ems * size > width:  # too long even at the smallest size: condense horizontally
        scale = width / (ems * size)
        element = (f'<g transform="translate({cx:.1f} 0) scale({scale:.3f} 1) translate({-cx:.1f} 0)">'
                   f"{element}</g>")
    return element


def _svg(body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{DEFAULT_MM}mm" height="{DEFAULT_MM}mm" '
            f'viewBox="0 0 {VIEW} {VIEW}">{body}</svg>')


def imprint_svg(surname: str, office: str, date: dt.date) -> str:
    """A round date stamp (日付印): office on top, the date (和暦) between two bars, surname below."""
    c = VIEW / 2
    outer = 8  # 0.8 mm
    r = c - outer / 2 - 2
    bar = MIN_STROKE
    band = 30  # half-height of the middle band
    inner_r = r - outer / 2

    def chord(dy: float) -> float:  # half-width of the circle's inside at vertical distance dy from centre
        return math.sqrt(max(inner_r**2 - dy**2, 0.0))

    bars = "".join(
        f'<line x1="{c - chord(dy):.1f}" y1="{c + dy}" x2="{c + chord(dy):.1f}" y2="{c + dy}" '
        f'stroke="#000" stroke-width="{bar}"/>'
        for dy in (-band, band)
    )
    top_cy = c - band - 38  # centre of the office line
    bottom_cy = c + band + 40  # centre of the surname line
    return _svg(
        f'<circle cx="{c}" cy="{c}" r="{r:.1f}" fill="none" stroke="#000" stroke-width="{outer}"/>'
        + bars
        + _fitted_text(office, c, top_cy, 2 * chord(top_cy - c - 22) - 16, 40, 30)
        + _fitted_text(wareki(date), c, c, 2 * chord(band) - 24, 42, 30)
        + _fitted_text(surname, c, bottom_cy, 2 * chord(bottom_cy - c + 26) - 16, 58, 34)
    )


def org_seal_svg(organization: str) -> str:
    """A square organisation seal (角印): the name plus 之印, in columns read top-down, right to left.

    ``organization`` is printed as given and gets 之印 appended unless it already ends in 印
    (``"若葉市長"`` → 若葉市長之印).
    """
    name = _clean(organization)
    text = name if name.endswith("印") else name + "之印"
    chars = list(text)[:25] or ["印"]
    rows = math.ceil(math.sqrt(len(chars)))
    cols = math.ceil(len(chars) / rows)
    frame, inner, pad = 12, MIN_STROKE, 22  # 1.2 mm frame, 0.6 mm inner rule
    area = VIEW - 2 * pad
    cell_w, cell_h = area / cols, area / rows
    size = min(cell_w, cell_h) * 0.92
    body = [
        f'<rect x="{frame / 2}" y="{frame / 2}" width="{VIEW - frame}" height="{VIEW - frame}" '
        f'fill="none" stroke="#000" stroke-width="{frame}"/>',
        f'<rect x="{frame + 4 + inner / 2}" y="{frame + 4 + inner / 2}" width="{VIEW - 2 * (frame + 4) - inner}" '
        f'height="{VIEW - 2 * (frame + 4) - inner}" fill="none" stroke="#000" stroke-width="{inner}"/>',
    ]
    for col in range(cols):
        column = chars[col * rows:(col + 1) * rows]
        x = VIEW - pad - cell_w * (col + 0.5)  # right to left
        step = area / len(column)  # a short last column spreads over the full height
        for row, ch in enumerate(column):
            cy = pad + step * (row + 0.5)
            squeeze = min(1.0, cell_w / (size * _ems(ch)))
            glyph = (f'<text x="{x:.1f}" y="{cy + size * 0.36:.1f}" font-size="{size:.1f}" text-anchor="middle" '
                     f'fill="#000" {_FONT}>{escape(ch)}</text>')
            body.append(glyph if squeeze >= 1.0 else
                        f'<g transform="translate({x:.1f} 0) scale({squeeze:.3f} 1) translate({-x:.1f} 0)">{glyph}</g>')
    return _svg("".join(body))
