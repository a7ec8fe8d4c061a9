"""Publishing the catalogue: form definitions from folders of YAML into the database.

Definitions name things by code that other domains keep: offices (``app.accounts.offices``) and the
destinations approved documents go to (``app.delivery.destinations``). Their files (``offices.yaml``,
``destinations.yaml``) are *reference files*, read before the forms by loaders the caller passes in
(``app.cli.catalogue_references``), so the catalogue depends on no domain above it.

``sync_catalogue`` is all or nothing: every file of every folder is read and checked before a row is
written, so a broken catalogue changes nothing. A published (slug, version) is immutable; syncing the
same file again is a no-op, and syncing an edited one is refused. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import defer, selectinload

from app.accounts.models import Office
from app.catalogue.definition import (
    apply_defaults,
    canonical_checksum,
    destination_entries,
    load_definition_file,
    validate_definition,
)
from app.catalogue.models import FormVersion
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import localized
from app.yamlfiles import FileProblems


class ReferenceFile(Protocol):
    """A loader of one kind of reference file (a module such as ``app.accounts.offices``)."""

    #: The file's name in a catalogue folder, e.g. "offices.yaml".
    FILENAME: str
    #: The kind of reference, as definitions' problems name it: "offices" or "destinations".
    KIND: str

    def read_file(self, path: Path) -> tuple[dict[str, dict], list[str]]: ...

    def known_codes(self) -> set[str]: ...

    def upsert(self, found: dict[str, dict]) -> tuple[list[str], list[str]]: ...


def built_in_catalogue_dir() -> Path:
    """The folder of the forms, offices and destinations that ship with the service."""
    return Path(__file__).with_name("definitions")


def _definition_files(directory: Path, references: Sequence[ReferenceFile]) -> list[Path]:
    reserved = {reference.FILENAME for reference in references}
    return [path for path in sorted(directory.glob("*.yaml")) if path.name not in reserved]


def _reference_problems(data: dict, known: dict[str, set[str]]) -> list[str]:
    """A definition's references to kinds other than offices (which ``validate_definition`` checks)."""
    problems = []
    if "destinations" in known:
        codes = known["destinations"]
        for index, code in enumerate(entry["code"] for entry in destination_entries(data)):
            if code not in codes:
                names = ", ".join(sorted(codes)) or "none"
                problems.append(f"destinations[{index}]: unknown destination {code!r} (known destinations: {names})")
    return problems


def validate_file(path: Path, references: Sequence[ReferenceFile]) -> list[str]:
    """Every problem with one catalogue file, as ``"<file>: <place>: <message>"``; [] when it is fine.

    A reference file is checked by its loader. A definition may name the offices of the built-in
    offices.yaml and of an offices.yaml beside it, which is what a sync of that folder would know.
    No database is needed.
    """
    path = Path(path)
    for reference in references:
        if path.name == reference.FILENAME:
            return reference.read_file(path)[1]
    try:
        data = load_definition_file(path)
    except FileProblems as error:
        return [f"{path}: {problem}" for problem in error.problems]
    office_codes: set[str] = set()
    for reference in references:
        if reference.KIND == "offices":
            for folder in {built_in_catalogue_dir(), path.parent}:
                if (folder / reference.FILENAME).exists():
                    office_codes |= set(reference.read_file(folder / reference.FILENAME)[0])
    return [f"{path}: {problem}" for problem in validate_definition(data, office_codes=office_codes)]


@dataclass
class SyncReport:
    #: kind → codes added, updated, left as they were (offices: …, destinations: …).
    added: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)
    forms_added: list[str] = field(default_factory=list)  # "slug@version"
    forms_unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"{kind}: {len(self.added[kind])} added, {len(self.updated[kind])} updated, "
            f"{len(self.unchanged[kind])} unchanged"
            for kind in self.added
        ]
        lines += [f"{form} added" for form in self.forms_added]
        lines += [f"{form} unchanged" for form in self.forms_unchanged]
        return "\n".join(lines)


def sync_catalogue(directories: list[Path], references: Sequence[ReferenceFile]) -> SyncReport:
    """Publish the reference files and form definitions of ``directories`` (later folders win for a code).

    Raises ValidationFailed with ``errors["problems"]`` listing every problem; then nothing is written.
    """
    problems: list[str] = []
    found: dict[str, dict[str, dict]] = {reference.KIND: {} for reference in references}
    readable: dict[str, bool] = {reference.KIND: True for reference in references}
    definitions: list[tuple[Path, dict]] = []
    for directory in map(Path, directories):
        if not directory.is_dir():
            problems.append(f"{directory}: not a folder")
            continue
        for reference in references:
            if (directory / reference.FILENAME).exists():
                items, file_problems = reference.read_file(directory / reference.FILENAME)
                found[reference.KIND] |= items
                problems += file_problems
                # A broken reference file is reported once, not again as "unknown" in every form.
                readable[reference.KIND] = readable[reference.KIND] and not file_problems
        for path in _definition_files(directory, references):
            try:
                definitions.append((path, load_definition_file(path)))
            except FileProblems as error:
                problems += [f"{path}: {problem}" for problem in error.problems]

    known = {reference.KIND: reference.known_codes() | set(found[reference.KIND]) for reference in references
             if readable[reference.KIND]}
    new_forms: list[tuple[dict, str]] = []
    unchanged: list[str] = []
    sources: dict[tuple[str, int], tuple[Path, str]] = {}
    for path, data in definitions:
        found_problems = validate_definition(data, office_codes=known.get("offices"))
        found_problems += _reference_problems(data, known)
        if found_problems:
            problems += [f"{path}: {problem}" for problem in found_problems]
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
    for reference in references:
        items = found[reference.KIND]
        added, updated = reference.upsert(items)
        report.added[reference.KIND], report.updated[reference.KIND] = added, updated
        report.unchanged[reference.KIND] = [code for code in items if code not in added and code not in updated]
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
