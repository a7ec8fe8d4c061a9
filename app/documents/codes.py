"""Verification codes (printed on every page and carried by the QR) and the QR code itself.

No Flask imports. A code is 16 characters of Crockford base32 from ``secrets`` (80 bits), stored
canonical (upper case, no separators) and printed grouped as ``XXXX-XXXX-XXXX-XXXX``.
"""

from __future__ import annotations

import secrets
import unicodedata

import segno

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 16  # × 5 bits = 80 bits
GROUP = 4

#: Read as the digit they look like (Crockford's decoding rules).
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
#: Separators a reader may type between groups (an IME gives full-width or long-vowel dashes).
_SEPARATORS = frozenset(" \t-‐‑‒–—―−ー－_")

QR_MODULE_MM = 0.75  # ≥ 0.6 mm survives standard-resolution fax (research/eseal_pdf.md §6.2); 0.75 mm ≈ 6 px at 204 dpi
QR_QUIET_ZONE = 4  # modules


def new_verification_code() -> str:
    """16 Crockford base32 characters from a CSPRNG (80 bits), canonical form."""
    number = int.from_bytes(secrets.token_bytes(CODE_LENGTH * 5 // 8), "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))


def format_code(code: str) -> str:
    """``XXXX-XXXX-XXXX-XXXX`` for printing; accepts a canonical or a typed code."""
    canonical = normalise_code(code)
    if canonical is None:
        raise ValueError("not a verification code")
    return "-".join(canonical[i:i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise_code(text: str | None) -> str | None:
    """The canonical code for what someone typed, or ``None`` if it cannot be one.

    Case-insensitive; I and L read as 1, O as 0; hyphens and spaces (also full-width ones) ignored.
    """
    if not text or len(text) > 64:
        return None
    text = unicodedata.normalize("NFKC", text)
    chars = "".join(ch for ch in text if ch not in _SEPARATORS).upper().translate(_LOOKALIKES)
    if len(chars) != CODE_LENGTH or any(ch not in ALPHABET for ch in chars):
        return None
    return chars


def qr_svg(url: str, *, module_mm: float = QR_MODULE_MM) -> str:
    """Inline SVG (no XML declaration) of a QR code for ``url``: error correction M, 4-module quiet zone.

    Width and height are given in mm so each module prints ``module_mm`` wide; the dark modules are
    one path of module-thick horizontal runs over a white square.
    """
    if module_mm < 0.6:
        raise ValueError("QR modules under 0.6 mm do not survive fax")
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    size = qr.symbol_size(border=QR_QUIET_ZONE)[0]
    # One stroked horizontal run per row segment ("m dx dy h w"), a butt-capped line one module thick:
    # few numbers to parse, which keeps WeasyPrint's SVG drawing cheap on every page.
    commands = []
    pen_x, pen_y = 0, 0.5
    for y, row in enumerate(qr.matrix):
        x, width = 0, len(row)
        while x < width:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < width and row[x]:
                x += 1
            run_x, run_y = start + QR_QUIET_ZONE, y + QR_QUIET_ZONE + 0.5
            commands.append(f"m{run_x - pen_x:g} {run_y - pen_y:g}h{x - start}")
            pen_x, pen_y = run_x + (x - start), run_y
    side = f"{size * module_mm:.2f}mm"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" width="{side}" height="{side}" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="none" stroke="#000" stroke-width="1" stroke-linecap="butt" d="M0 0.5{"".join(commands)}"/></svg>'
    )
