"""Receipt numbers (受付番号): short, unambiguous when read aloud or copied from paper.

The alphabet leaves out 0/O, 1/I/L and U; eight symbols from a CSPRNG give 30**8 ≈ 6.6·10^11
numbers, so collisions are rare and the unique constraint plus a retry settles them.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8


def new_receipt_number() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{symbols[:4]}-{symbols[4:]}"


def normalise_receipt_number(text: str) -> str:
    """Accept what a resident might type: lower case, full-width, no hyphen, O for 0 and so on."""
    import unicodedata

    cleaned = unicodedata.normalize("NFKC", text).upper().replace("-", "").replace(" ", "")
    if len(cleaned) != LENGTH:
        return ""
    return f"{cleaned[:4]}-{cleaned[4:]}"
