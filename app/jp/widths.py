"""Width and dash folding for what residents type on Japanese keyboards.

Residents type in full-width mode as often as not, and an IME offers half a dozen look-alike dashes;
the service converts rather than refusing (jp_design.md J-W1). NFKC is not used: it leaves ー and ‐
alone, and it must never touch names.
"""

from __future__ import annotations

# Full-width ASCII (U+FF01..U+FF5E) sits at a fixed offset from ASCII; the ideographic space is apart.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Every dash an IME or a copy-paste can produce, including the katakana long vowel marks that people
# type for a hyphen in numbers (「1ー2ー3」).
DASHES = "\u002d\u02d7\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u30fc\ufe63\uff0d\uff70"
_DASH_TO_HYPHEN = {ord(dash): "-" for dash in DASHES}


def normalise_text(value: str) -> str:
    """Strip surrounding whitespace of both widths; nothing else, so names keep every code point."""
    return (value or "").strip()


def normalise_digits(value: str) -> str:
    """Full-width digits and letters to ASCII, and every dash to '-'; for numbers, codes and phones."""
    return normalise_text(value).translate(_FULL_WIDTH).translate(_DASH_TO_HYPHEN)


def to_half_width_ascii(value: str) -> str:
    """Full-width ASCII to ASCII without folding dashes (for e-mail addresses)."""
    return normalise_text(value).translate(_FULL_WIDTH)
