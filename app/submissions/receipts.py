"""Receipt numbers (受付番号): short, unambiguous when read aloud, copied from paper or received by fax.

The alphabet leaves out 0/O, 1/I/L and U, and the letters a fax blurs into digits: B (8), S (5), T (7)
and Z (2). Eight symbols from a CSPRNG give 26**8 ≈ 2·10^11 numbers, so collisions are rare and the
unique constraint plus a retry settles them.
"""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "23456789ACDEFGHJKMNPQRVWXY"
LENGTH = 8


def new_receipt_number() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{symbols[:4]}-{symbols[4:]}"


def normalise_receipt_number(text: str) -> str:
    """Accept what a resident might type: lower case, full-width, no hyphen, O for 0 and so on."""
    cleaned = unicodedata.normalize("NFKC", text).upper().replace("-", "").replace(" ", "")
    # A letter left out of the alphabet was a misread digit.
    cleaned = cleaned.translate(str.maketrans("BSTZ", "8572"))
    if len(cleaned) != LENGTH:
        return ""
    return f"{cleaned[:4]}-{cleaned[4:]}"
