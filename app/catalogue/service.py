"""Publishing the catalogue: offices and form definitions from folders of YAML into the database.

``sync_catalogue`` is all or nothing: every file of every folder is read and checked before a row is
written, so a broken catalogue changes nothing. A published (slug, version) is immutable; syncing the
same file again is a no-op, and syncing an edited one is refused. Services flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import sqlalchemy as sa
from sqlalchemy.orm import defer, selectinload

from app.accounts.models import Office
from app.catalogue.definition import (
    apply_defaults,
    canonical_checksum,
    load_definition_file,
    load_yaml_file,
    localized,
    schema_problems,
    validate_definition,
)
from app.catalogue.errors import DefinitionError
from app.catalogue.models import FormVersion
from app.delivery import destinations
from app.errors import ValidationFailed
from app.extensions import db

OFFICES_FILE = "offices.yaml"
# External offices that approved documents are delivered to (app/delivery/destinations.py); loaded
# after the offices and before the forms, which name them in ``destinations: [codes]``.
DESTINATIONS_FILE = "destinations.yaml"

_LOCALIZED_NAME = {
    "type": "object",
    "properties": {"ja": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
    "required": ["ja", "en"],
    "additionalProperties": False,
}
# Wrapped in {"offices": ...} so that problems read "offices[2].code", like a definition's places.
_OFFICES_VALIDATOR = jsonschema.Draft202012Validator(
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
                        "name": _LOCALIZED_NAME,
                    },
                    "required": ["code", "name"],
                    "additionalProperties": False,
                },
            }
        },
    }
)


def built_in_catalogue_dir() -> Path:
    """The folder of the forms and offices that ship with the service."""
    return Path(__file__).with_name("definitions")


def office_problems(data) -> list[str]:
    """Problems with the contents of an offices.yaml: a list of {code, name: {ja, en}}, codes unique."""
    problems = schema_problems({"offices": data}, _OFFICES_VALIDATOR)
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


def _read_offices(path: Path) -> tuple[dict[str, dict], list[str]]:
    """({code: name}, problems) from one offices.yaml."""
    try:
        data = load_yaml_file(path)
    except DefinitionError as error:
        return {}, [f"{path}: {problem}" for problem in error.problems]
    problems = office_problems(data)
    if problems:
        return {}, [f"{path}: {problem}" for problem in problems]
    return {office["code"]: office["name"] for office in data or []}, []


def _definition_files(directory: Path) -> list[Path]:
    return [path for path in sorted(directory.glob("*.yaml")) if path.name not in (OFFICES_FILE, DESTINATIONS_FILE)]


def validate_file(path: Path, *, office_codes: set[str] | None = None) -> list[str]:
    """Every problem with one catalogue file, as ``"<file>: <place>: <message>"``; [] when it is fine.

    Without ``office_codes`` a definition may name the offices of the built-in offices.yaml and of an
    offices.yaml beside it, which is what a sync of that folder would know. No database is needed.
    """
    path = Path(path)
    if path.name == OFFICES_FILE:
        return _read_offices(path)[1]
    if path.name == DESTINATIONS_FILE:
        return destinations.read_file(path)[1]
    try:
        data = load_definition_file(path)
    except DefinitionError as error:
        return [f"{path}: {problem}" for problem in error.problems]
    if office_codes is None:
        office_codes = set()
        for folder in {built_in_catalogue_dir(), path.parent}:
            if (folder / OFFICES_FILE).exists():
                office_codes |= set(_read_offices(folder / OFFICES_FILE)[0])
    return [f"{path}: {problem}" for problem in validate_definition(data, office_codes=office_codes)]


@dataclass
class SyncReport:
    offices_added: list[str] = field(default_factory=list)
    offices_updated: list[str] = field(default_factory=list)
    offices_unchanged: list[str] = field(default_factory=list)
    destinations_added: list[str] = field(default_factory=list)
    destinations_updated: list[str] = field(default_factory=list)
    forms_added: list[str] = field(default_factory=list)  # "slug@version"
    forms_unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"offices: {len(self.offices_added)} added, {len(self.offices_updated)} updated, "
            f"{len(self.offices_unchanged)} unchanged"
        ]
        if self.destinations_added or self.destinations_updated:
            added, updated = len(self.destinations_added), len(self.destinations_updated)
            lines.append(f"destinations: {added} added, {updated} updated")
        lines += [f"{form} added" for form in self.forms_added]
        lines += [f"{form} unchanged" for form in self.forms_unchanged]
        return "\n".join(lines)


def sync_catalogue(directories: list[Path]) -> SyncReport:
    """Publish the offices and form definitions of ``directories`` (later folders win for office names).

    Raises ValidationFailed with ``errors["problems"]`` listing every problem; then nothing is written.
    """
    problems: list[str] = []
    offices: dict[str, dict] = {}
    destination_items: dict[str, dict] = {}
    destinations_readable = True
    definitions: list[tuple[Path, dict]] = []
    for directory in map(Path, directories):
        if not directory.is_dir():
            problems.append(f"{directory}: not a folder")
            continue
        if (directory / OFFICES_FILE).exists():
            found, office_file_problems = _read_offices(directory / OFFICES_FILE)
            offices |= found
            problems += office_file_problems
        if (directory / DESTINATIONS_FILE).exists():
            found_destinations, destination_file_problems = destinations.read_file(directory / DESTINATIONS_FILE)
            destination_items |= found_destinations
            problems += destination_file_problems
            # A broken destinations.yaml is reported once, not again as "unknown" in every form.
            destinations_readable = destinations_readable and not destination_file_problems
        for path in _definition_files(directory):
            try:
                definitions.append((path, load_definition_file(path)))
            except DefinitionError as error:
                problems += [f"{path}: {problem}" for problem in error.problems]

    existing_offices = {office.code: office for office in db.session.scalars(sa.select(Office))}
    known_codes = set(existing_offices) | set(offices)
    known_destinations = destinations.known_codes() | set(destination_items)
    new_forms: list[tuple[dict, str]] = []
    unchanged: list[str] = []
    sources: dict[tuple[str, int], tuple[Path, str]] = {}
    for path, data in definitions:
        found = validate_definition(data, office_codes=known_codes)
        if destinations_readable:
            found += _destination_problems(data, known_destinations)
        if found:
            problems += [f"{path}: {problem}" for problem in found]
            continue
        key, label = (data["slug"], data["version"]), f"{data['slug']}@{data['version']}"
        # The checksum covers the file as written, not the defaults-applied copy: a later change to a
        # default in code must not make an untouched, published file look edited.
        checksum = canonical_checksum(data)
        if key in sources:
            # An identical copy in a second folder is harmless; two different texts for one version are not.
            if sources[key][1] != checksum:
                problems.append(f"{path}: {label} is also defined, differently, in {sources[key][0]}")
            continue
        sources[key] = (path, checksum)
        published = db.session.scalar(
            sa.select(FormVersion).where(FormVersion.slug == key[0], FormVersion.version == key[1])
        )
        if published is None:
            new_forms.append((data, checksum))
        elif published.checksum == checksum:
            unchanged.append(label)
        else:
            problems.append(f"{path}: {label} is already published and cannot change; publish a new version")
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the catalogue", errors={"problems": problems})

    report = SyncReport(forms_unchanged=unchanged)
    _upsert_offices(offices, existing_offices, report)
    report.destinations_added, report.destinations_updated = destinations.upsert(destination_items)
    office_ids = {code: office_id for code, office_id in db.session.execute(sa.select(Office.code, Office.id))}
    for data, checksum in new_forms:
        db.session.add(
            FormVersion(
                slug=data["slug"],
                version=data["version"],
                title_ja=localized(data["title"], "ja"),
                title_en=localized(data["title"], "en"),
                office_id=office_ids[data["office"]],
                definition=apply_defaults(data),
                checksum=checksum,
            )
        )
        report.forms_added.append(f"{data['slug']}@{data['version']}")
    db.session.flush()
    return report


def _destination_problems(data: dict, known: set[str]) -> list[str]:
    problems = []
    for index, code in enumerate(data.get("destinations") or []):
        if code not in known:
            names = ", ".join(sorted(known)) or "none"
            problems.append(f"destinations[{index}]: unknown destination {code!r} (known destinations: {names})")
    return problems


def _upsert_offices(offices: dict[str, dict], existing: dict[str, Office], report: SyncReport) -> None:
    for code, name in offices.items():
        office = existing.get(code)
        if office is None:
            db.session.add(Office(code=code, name_ja=name["ja"], name_en=name["en"]))
            report.offices_added.append(code)
        elif (office.name_ja, office.name_en) != (name["ja"], name["en"]):
            office.name_ja, office.name_en = name["ja"], name["en"]
            report.offices_updated.append(code)
        else:
            report.offices_unchanged.append(code)
    db.session.flush()


def published_forms(*, with_definitions: bool = True) -> list[FormVersion]:
    """The latest version of every published form, by slug.

    ``with_definitions=False`` leaves each definition (tens of kilobytes of JSON) unloaded until read,
    for lists that show only titles, such as the office queue's form filter.
    """
    latest = (
        sa.select(FormVersion.slug, sa.func.max(FormVersion.version).label("version"))
        .group_by(FormVersion.slug)
        .subquery()
    )
    statement = (
        sa.select(FormVersion)
        .join(latest, sa.and_(FormVersion.slug == latest.c.slug, FormVersion.version == latest.c.version))
        .options(selectinload(FormVersion.office))
        .order_by(FormVersion.slug)
    )
    if not with_definitions:
        statement = statement.options(defer(FormVersion.definition))
    return list(db.session.scalars(statement))


def latest_version(slug: str) -> FormVersion | None:
    """The newest published version of one form, or None when no version of it is published."""
    return db.session.scalar(
        sa.select(FormVersion).where(FormVersion.slug == slug).order_by(FormVersion.version.desc()).limit(1)
    )
