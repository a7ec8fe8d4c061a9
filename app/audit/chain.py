"""The hash chain itself: canonical serialisation, entry hashes and the payload rules. No Flask, no database.

An entry's hash is ``SHA-256`` (lower-case hex) over the UTF-8 bytes of the canonical JSON of all of its
fields, the previous entry's hash included::

    {"action":…,"actor_id":…,"actor_type":…,"created_at":"2026-11-22T01:02:03.000004Z","data":{…},
     "prev_hash":…,"seq":…,"subject_id":…,"subject_type":…}

with sorted keys, separators ``,`` and ``:``, no whitespace, and ``created_at`` in UTC with microseconds.
The first entry's ``prev_hash`` is 64 zeros. Because ``seq`` and ``prev_hash`` are inside the hash, an
edited, reordered, inserted or deleted entry breaks the chain at that point; only deleting the newest
entries leaves a valid (shorter) chain, which is what signed checkpoints kept elsewhere are for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping

GENESIS_HASH = "0" * 64
ACTOR_TYPES = ("resident", "staff", "system", "public")

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_encode_string = json.encoder.encode_basestring  # the C routine json.dumps uses with ensure_ascii=False

# Ids, action and state names, field names, hex hashes, receipt numbers: enough to say what happened,
# too narrow for a name (no spaces, no kana or kanji), an address or free text.
_SAFE_STRING = re.compile(r"[A-Za-z0-9_.:@/-]{0,128}")
_SAFE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
# The safe alphabet still admits these shapes of personal data, so they are refused by name.
_EMAIL = re.compile(r"[^@]+@[^@]+\.[A-Za-z]{2,}")
_DIGITS_AND_HYPHENS = re.compile(r"[0-9][0-9-]*")
_MAX_LIST = 100


def format_time(value: dt.datetime) -> str:
    """``created_at`` as hashed: ISO 8601 in UTC with microseconds, so every backend gives the same text.

    A naive value is taken to be UTC already (SQLite stores UTC without an offset).
    """
    if value.tzinfo is not None:
        if value.utcoffset():
            value = value.astimezone(dt.UTC)
        value = value.replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def _string(value) -> str:
    return _encode_string(value) if type(value) is str else _ENCODER.encode(value)


def _number(value) -> str:
    return "null" if value is None else str(value) if type(value) is int else _ENCODER.encode(value)


def entry_hash(
    seq: int,
    created_at: dt.datetime,
    actor_type: str,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    data: Mapping,
    prev_hash: str,
) -> str:
    """The hex SHA-256 of one entry, from its fields as the application holds them.

    The JSON is assembled by hand (``hash_fields``), keys already in sorted order; it is byte for byte
    what ``json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives
    (tests/audit checks this), so the ledger can be verified without this code.
    """
    return hash_fields(seq, format_time(created_at), actor_type, actor_id, action, subject_type, subject_id,
                       _ENCODER.encode(data), prev_hash)


def canonical_data(data: Mapping) -> str:
    """``data`` as it is hashed: sorted keys, no whitespace, non-ASCII as is."""
    return _ENCODER.encode(data)


def hash_fields(
    seq: int,
    created_at: str,
    actor_type: str,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    data: str,
    prev_hash: str,
) -> str:
    """``entry_hash`` with ``created_at`` already in ``format_time``'s text and ``data`` already canonical.

    Positional on purpose: ``verify`` calls it once per row, and one f-string of the whole entry is
    the cheapest way to build it in Python. ``created_at`` goes in without escaping: it is made
    of digits, ``-``, ``:``, ``.``, ``T`` and ``Z`` only.
    """
    text = (
        f'{{"action":{_string(action)},"actor_id":{_number(actor_id)},"actor_type":{_string(actor_type)},'
        f'"created_at":"{created_at}","data":{data},"prev_hash":{_string(prev_hash)},"seq":{_number(seq)},'
        f'"subject_id":{_number(subject_id)},"subject_type":{_string(subject_type)}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hasher():
    """A ``hash_fields`` for verifying a long run of rows: same text, same hash, less work per row.

    The names (action, actor and subject types) come from a small set, so their JSON encodings are
    kept (up to 1,024 of them, so memory stays bounded); ids and seq are almost always ints, whose
    JSON is ``str``. Anything else takes the general path of ``hash_fields``. ``prev_hash`` goes in
    without escaping: the caller has already found it equal to the previous entry's hash (64 hex
    digits, or the genesis zeros), as ``verify_chain`` does before hashing a row.
    """
    names: dict[str, str] = {}
    sha256 = hashlib.sha256

    def name(value) -> str:
        encoded = _string(value)
        if type(value) is str and len(names) < 1024:
            names[value] = encoded
        return encoded

    def hash_row(seq, created_at: str, actor_type, actor_id, action, subject_type, subject_id, data: str,
                 prev_hash) -> str:
        text = (
            f'{{"action":{names.get(action) or name(action)},'
            f'"actor_id":{str(actor_id) if type(actor_id) is int else _number(actor_id)},'
            f'"actor_type":{names.get(actor_type) or name(actor_type)},'
            f'"created_at":"{created_at}","data":{data},"prev_hash":"{prev_hash}",'
            f'"seq":{str(seq) if type(seq) is int else _number(seq)},'
            f'"subject_id":{str(subject_id) if type(subject_id) is int else _number(subject_id)},'
            f'"subject_type":{names.get(subject_type) or name(subject_type)}}}'
        )
        return sha256(text.encode("utf-8")).hexdigest()

    return hash_row


def _check_scalar(key: str, value) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        # A 12-digit number is what a My Number looks like; no id or count of ours gets there.
        if not -(2**63) <= value < 2**63 or len(str(abs(value))) == 12:
            raise ValueError(f"audit data {key!r}: this number looks like personal data")
        return
    if isinstance(value, str):
        if not _SAFE_STRING.fullmatch(value):
            raise ValueError(
                f"audit data {key!r}: only ids, names of actions or states and hashes are allowed "
                "(up to 128 of A-Z a-z 0-9 _ . : @ / -)"
            )
        if _EMAIL.fullmatch(value):
            raise ValueError(f"audit data {key!r}: looks like an e-mail address")
        if _DIGITS_AND_HYPHENS.fullmatch(value) and 10 <= sum(c.isdigit() for c in value) <= 13:
            raise ValueError(f"audit data {key!r}: looks like a phone, My Number or corporate number")
        return
    raise ValueError(f"audit data {key!r}: {type(value).__name__} is not allowed (int, bool, None, short id string)")


def check_data(data: Mapping | None) -> dict:
    """The payload as it will be stored and hashed, or ValueError if anything in it may be personal data.

    Values are int, bool, None, a short string of the safe alphabet, or a list of those. Tuples become
    lists here so that the hash computed now equals the one recomputed from the stored JSON.
    """
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError("audit data must be a mapping")
    clean: dict = {}
    for key, value in data.items():
        if not isinstance(key, str) or not _SAFE_KEY.fullmatch(key):
            raise ValueError(f"audit data key {key!r}: use a lower-case identifier")
        if isinstance(value, list | tuple):
            if len(value) > _MAX_LIST:
                raise ValueError(f"audit data {key!r}: at most {_MAX_LIST} items")
            for item in value:
                _check_scalar(key, item)
            clean[key] = list(value)
        else:
            _check_scalar(key, value)
            clean[key] = value
    return clean


def check_name(kind: str, value: str) -> str:
    """Action and subject type names: lower-case machine names such as 'mynumber.read'."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"audit {kind} {value!r}: use a lower-case machine name such as 'submission.submit'")
    return value


def check_id(kind: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"audit {kind} must be an integer id or None")
    return value
