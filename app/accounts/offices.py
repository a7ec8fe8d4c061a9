"""Offices (課) from the catalogue's ``offices.yaml``: a list of ``{code, name: {ja, en}}``, codes unique,
and optionally how to reach each: ``phone``, ``hours: {ja, en}`` (opening hours), ``address: {ja, en}``
(where the counter is), shown on the contact page and where a form says to come to the counter.

A reference file of the catalogue (``app.catalogue.service.ReferenceFile``): read and checked before
any form, so definitions can name offices by code. ``upsert`` adds and renames; it never removes an
office, because staff, forms and cases keep naming it.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import sqlalchemy as sa

from app.accounts.models import Office
from app.extensions import db
from app.yamlfiles import read_coded_list, schema_problems

FILENAME = "offices.yaml"
#: What a definition's problems call these references.
KIND = "offices"

LOCALIZED_NAME = {
    "type": "object",
    "properties": {"ja": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
    "required": ["ja", "en"],
    "additionalProperties": False,
}
# Wrapped in {"offices": ...} so that problems read "offices[2].code", like a definition's places.
_VALIDATOR = jsonschema.Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "offices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {
                            "type": "string",
                            "pattern": "^[a-z][a-z0-9_-]*$",
                            "x-messages": {
                                "pattern": "{value} is not a valid code: use lower-case letters, digits, '-' and '_', "
                                "starting with a letter"
                            },
                        },
                        "name": LOCALIZED_NAME,
                        "phone": {
                            "type": "string",
                            "pattern": "^0[0-9-]{8,14}$",
                            "x-messages": {"pattern": "{value} is not a phone number (0 and digits, hyphens allowed)"},
                        },
                        "hours": LOCALIZED_NAME,
                        "address": LOCALIZED_NAME,
                    },
                    "required": ["code", "name"],
                    "additionalProperties": False,
                },
            }
        },
    }
)


def office_problems(data) -> list[str]:
    """Problems with the contents of an offices.yaml (no file names); [] when it is fine."""
    problems = schema_problems({"offices": data}, _VALIDATOR)
    if problems:
        return problems
    places: dict[str, str] = {}
    for index, office in enumerate(data or []):
        if office["code"] in places:
            problems.append(
                f"offices[{index}].code: the code {office['code']!r} is already used at {places[office['code']]}"
            )
        places.setdefault(office["code"], f"offices[{index}]")
    return problems


def read_file(path: Path) -> tuple[dict[str, dict], list[str]]:
    """({code: item}, problems) from one offices.yaml, problems prefixed with the file."""
    return read_coded_list(path, KIND, _VALIDATOR)


def known_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Office.code)))


def upsert(found: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Add or rename the offices of a synced file; returns (added, updated) codes. Flushes."""
    existing = {office.code: office for office in db.session.scalars(sa.select(Office))}
    added, updated = [], []
    for code, item in found.items():
        name = item["name"]
        contact = {key: item[key] for key in ("phone", "hours", "address") if key in item} or None
        office = existing.get(code)
        if office is None:
            db.session.add(Office(code=code, name_ja=name["ja"], name_en=name["en"], contact=contact))
            added.append(code)
        elif (office.name_ja, office.name_en, office.contact) != (name["ja"], name["en"], contact):
            office.name_ja, office.name_en, office.contact = name["ja"], name["en"], contact
            updated.append(code)
    db.session.flush()
    return added, updated
