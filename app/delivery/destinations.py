"""Destinations (送付先): the external offices approved documents are delivered to.

They come from ``destinations.yaml`` (a reference file of the catalogue, loaded by ``flask catalogue
sync`` before the forms that name them; see ``app.catalogue.service.ReferenceFile``) and from the
administrator's page (``app.delivery.admin``); never from free text typed into a case, because a
mis-dialled fax is a reportable leak. Rows are deactivated, never deleted: deliveries keep naming them.

A receiver outside the city government is marked ``external: true``: a document goes there only with
the resident's consent, recorded with the submission (``consented``).
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import sqlalchemy as sa

from app.accounts.offices import LOCALIZED_NAME
from app.delivery.models import CHANNELS, Destination
from app.extensions import db
from app.yamlfiles import read_coded_list

# ---- the catalogue file ----------------------------------------------------------------------------

FILENAME = "destinations.yaml"
#: What a definition's problems call these references.
KIND = "destinations"
FAX_RE = re.compile(r"^0[0-9-]{8,14}$")
# Wrapped in {"destinations": ...} so that problems read "destinations[2].fax", like the offices'.
_VALIDATOR = jsonschema.Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "destinations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$", "maxLength": 40},
                        "name": LOCALIZED_NAME,
                        "fax": {"type": "string", "pattern": FAX_RE.pattern},
                        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[A-Za-z]{2,}$"},
                        "webhook": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 500},
                        "channel": {"enum": list(CHANNELS)},
                        "external": {"type": "boolean"},
                    },
                    "required": ["code", "name", "channel"],
                    "additionalProperties": False,
                },
            }
        },
    }
)
#: Which contact each channel needs.
NEEDS = {"fax_email": "fax", "fax_spool": "fax", "email": "email", "webhook": "webhook"}


def read_file(path: Path) -> tuple[dict[str, dict], list[str]]:
    """({code: item}, problems) from one destinations.yaml, problems prefixed with the file."""
    found, problems = read_coded_list(path, KIND, _VALIDATOR)
    for index, item in enumerate(found.values()):
        needed = NEEDS[item["channel"]]
        if not item.get(needed):
            problems.append(f"{path}: destinations[{index}].{needed}: the channel {item['channel']!r} needs '{needed}'")
    return ({} if problems else found), problems


def upsert(found: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Add or update the destinations of a synced file; returns (added, updated) codes. Flushes.

    A file never deactivates a destination (an administrator does), and a deactivated one stays so.
    """
    existing = {d.code: d for d in db.session.scalars(sa.select(Destination))}
    added, updated = [], []
    for code, item in found.items():
        values = {
            "name_ja": item["name"]["ja"], "name_en": item["name"]["en"], "fax_number": item.get("fax"),
            "email": item.get("email"), "webhook_url": item.get("webhook"), "channel": item["channel"],
            "external": bool(item.get("external", False)),
        }
        row = existing.get(code)
        if row is None:
            db.session.add(Destination(code=code, **values))
            added.append(code)
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            updated.append(code)
    db.session.flush()
    return added, updated


def known_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Destination.code)))


# ---- lookups ----------------------------------------------------------------------------------------


def find(code: str) -> Destination | None:
    return db.session.scalar(sa.select(Destination).where(Destination.code == code))


def by_codes(codes: list[str]) -> dict[str, Destination]:
    """The destinations named by ``codes`` (unknown codes are left out), by code."""
    if not codes:
        return {}
    return {d.code: d for d in db.session.scalars(sa.select(Destination).where(Destination.code.in_(codes)))}


def consented(codes: list[str], consents: dict | None) -> list[str]:
    """Of ``codes``, in order, those a document may go to: every internal destination, and an external
    one only when the resident ticked its consent (``consents[code]`` is true)."""
    found = by_codes(codes)
    consents = consents or {}
    return [code for code in codes if code in found and (not found[code].external or consents.get(code) is True)]


def active() -> list[Destination]:
    return list(db.session.scalars(sa.select(Destination).where(Destination.is_active).order_by(Destination.code)))
