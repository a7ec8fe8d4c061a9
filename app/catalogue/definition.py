"""Form definitions as data: read a YAML file, check it, fill in defaults, checksum it, walk it.

``validate_definition`` reports *every* problem as ``"<place>: <message>"``, with the place written as
a path into the document (``pages[2].fields[3].type``, 0-based), so an administrator can fix a file in
one pass. Structure is checked against ``schema.json``; the rules a schema cannot express (unique
names, conditions that point backwards, known offices) are checked after it, in ``definition_rules``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema

from app import yamlfiles
from app.catalogue.definition_rules import (
    CHOICE_TYPES,
    FIELD_TYPES,
    GROUP_DEFAULT_MAX_ITEMS,
    YESNO_VALUES,
    rule_problems,
)
from app.jp import MAX_UPLOAD_BYTES, UPLOAD_KINDS
from app.yamlfiles import FileProblems, load_yaml_file

SCHEMA_PATH = Path(__file__).with_name("schema.json")

__all__ = [
    "CHOICE_TYPES", "FIELD_TYPES", "SCHEMA_PATH", "YESNO_VALUES", "apply_defaults", "canonical_checksum",
    "destination_entries", "field_by_name", "is_shown", "iter_fields", "load_definition_file", "schema_problems",
    "validate_definition",
]  # fmt: skip

# Defaults by field type; applied to a copy before publishing so the stored definition says exactly
# what the resident was held to, whatever later code considers a default.
_TYPE_DEFAULTS = {
    "text": {"max_length": 200},
    "textarea": {"max_length": 2000},
    "file": {"accept": list(UPLOAD_KINDS), "max_bytes": MAX_UPLOAD_BYTES},
    "group": {"min_items": 0, "max_items": GROUP_DEFAULT_MAX_ITEMS},
}
_ANSWER_DEFAULTS = {"required": True, "sensitive": False, "print": True}


# --- reading ----------------------------------------------------------------------------------


def load_definition_file(path: Path) -> dict:
    """A definition as a dict, not yet validated; FileProblems when the file is not a YAML mapping."""
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise FileProblems(["definition: the file must hold a mapping (slug:, version:, title:, ...)"])
    return data


# --- checking ---------------------------------------------------------------------------------


@functools.cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_definition(data: dict, *, office_codes: set[str] | None = None) -> list[str]:
    """Every problem with a definition, as ``"<place>: <message>"``; an empty list means it can be published.

    ``office_codes`` are the offices it may name; None skips that check (a file checked on its own).
    Rule checks run only on a structurally valid definition, since they assume its shape.
    """
    if not isinstance(data, dict):
        return ["definition: expected a mapping (slug:, version:, title:, ...)"]
    problems = schema_problems(data)
    if problems:
        return problems
    return rule_problems(data, office_codes=office_codes)


def schema_problems(data) -> list[str]:
    """Structural problems of a definition against ``schema.json``, in plain words."""
    return yamlfiles.schema_problems(data, _schema_validator())


# --- publishing -------------------------------------------------------------------------------


def _fill_field(field: dict) -> None:
    for key, default in _TYPE_DEFAULTS.get(field["type"], {}).items():
        field.setdefault(key, copy.deepcopy(default))
    if field["type"] == "group":
        for subfield in field["fields"]:
            _fill_field(subfield)
        return
    for key, default in _ANSWER_DEFAULTS.items():
        field.setdefault(key, default)
    if field["type"] == "mynumber":
        # Not a default but the law: a My Number is protected and never printed, whatever the file says.
        field["sensitive"] = True
        field["print"] = False


def apply_defaults(data: dict) -> dict:
    """A copy of a valid definition with every default written out (required, max_length, accept...)."""
    result = copy.deepcopy(data)
    for page in result["pages"]:
        for field in page["fields"]:
            _fill_field(field)
    return result


def canonical_checksum(definition: dict) -> str:
    """SHA-256 hex of the definition's canonical JSON (sorted keys, UTF-8, no spaces)."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- walking ----------------------------------------------------------------------------------


def iter_fields(definition: dict) -> Iterator[tuple[dict, dict]]:
    """(page, field) for every top-level field in page order; a group's own fields stay inside it."""
    for page in definition["pages"]:
        for field in page["fields"]:
            yield page, field


def destination_entries(definition: dict) -> list[dict]:
    """The definition's destinations as ``[{code, purpose, legal_basis}]`` in order; a bare code (the
    format of earlier versions) has neither purpose nor legal basis (None)."""
    entries = []
    for item in definition.get("destinations") or []:
        if isinstance(item, str):
            entries.append({"code": item, "purpose": None, "legal_basis": None})
        else:
            entries.append({"code": item["code"], "purpose": item.get("purpose"),
                            "legal_basis": item.get("legal_basis")})
    return entries


def field_by_name(definition: dict, name: str) -> dict | None:
    """The top-level field called ``name``, or None."""
    return next((field for _page, field in iter_fields(definition) if field["name"] == name), None)


def _is_filled(answer) -> bool:
    if isinstance(answer, dict):  # a name's four parts, a date's boxes
        return any(_is_filled(part) for part in answer.values())
    return answer not in (None, "", [], ())


def is_shown(condition: dict | None, answers: dict) -> bool:
    """Whether a page or field with this ``show_if`` applies, given the answers so far.

    For checkboxes (a list of ticked values) ``equals`` means "is ticked" and ``in`` "any is ticked".
    Values compare as text, because YAML gives ``3`` where a form posts ``"3"``.
    """
    if not condition:
        return True
    answer = answers.get(condition["field"])
    if "filled" in condition:
        return _is_filled(answer)
    given = {str(item) for item in answer} if isinstance(answer, list | tuple) else {str(answer)}
    wanted = {str(condition["equals"])} if "equals" in condition else {str(item) for item in condition["in"]}
    return bool(given & wanted)
