"""Japanese input rules: what residents and staff type, normalised and checked. Imports nothing of the app
but Core.

Postcodes (with an offline address lookup), phone numbers, e-mail addresses, kana, numbers and My
Number (``rules``); dates in 和暦 and 西暦 (``wareki``); today in Japan and dates relative to it
(``dates``); full- and half-width folding (``widths``); what an uploaded file really is (``uploads``).
Every check raises ``InvalidValue`` with a polite message that says how to fix the answer. Everything
is re-exported here: ``from app import jp``.
"""

from app.jp.dates import add_months, resolve_bound, shift, today_jst
from app.jp.errors import InvalidValue
from app.jp.rules import (
    lookup_postcode,
    mask_mynumber,
    mynumber_check_digit,
    parse_email,
    parse_integer,
    parse_kana,
    parse_phone,
    parse_postcode,
    validate_mynumber,
)
from app.jp.uploads import (
    HEAD_BYTES,
    MAX_UPLOAD_BYTES,
    UPLOAD_KINDS,
    check_upload,
    check_upload_head,
    content_type_for,
    extension_for,
    kind_for_content_type,
    sniff_upload,
)
from app.jp.wareki import (
    CALENDARS,
    ERAS,
    WESTERN,
    Era,
    date_from_parts,
    date_to_parts,
    era_of,
    format_date,
    parse_date,
    to_wareki,
)
from app.jp.widths import DASHES, normalise_digits, normalise_text, to_half_width_ascii

__all__ = [
    "CALENDARS", "DASHES", "ERAS", "HEAD_BYTES", "MAX_UPLOAD_BYTES", "UPLOAD_KINDS", "WESTERN", "Era",
    "InvalidValue", "add_months", "check_upload", "check_upload_head", "content_type_for", "date_from_parts",
    "date_to_parts", "era_of", "extension_for", "format_date", "kind_for_content_type", "lookup_postcode",
    "mask_mynumber", "mynumber_check_digit", "normalise_digits", "normalise_text", "parse_date", "parse_email",
    "parse_integer", "parse_kana", "parse_phone", "parse_postcode", "resolve_bound", "shift", "sniff_upload",
    "to_half_width_ascii", "to_wareki", "today_jst", "validate_mynumber",
]  # fmt: skip
