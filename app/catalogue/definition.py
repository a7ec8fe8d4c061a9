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
import yaml

from app.catalogue.definition_rules import (
    CHOICE_TYPES,
    FIELD_TYPES,
    GROUP_DEFAULT_MAX_ITEMS,
    YESNO_VALUES,
    rule_problems,
)
from app.catalogue.errors import DefinitionError
from app.catalogue.uploads import MAX_UPLOAD_BYTES, UPLOAD_KINDS

SCHEMA_PATH = Path(__file__).with_name("schema.json")

__all__ = [
    "CHOICE_TYPES", "FIELD_TYPES", "SCHEMA_PATH", "YESNO_VALUES", "apply_defaults", "canonical_checksum",
    "field_by_name", "format_place", "is_shown", "iter_fields", "load_definition_file", "load_yaml_file",
    "localized", "schema_problems", "validate_definition",
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a repeated key: PyYAML keeps the last one silently, losing a label."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"the key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml_file(path: Path):
    """The YAML document in ``path``; DefinitionError (with a line number) when it cannot be read."""
    try:
        # utf-8-sig: files saved by Windows Notepad start with a BOM.
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DefinitionError(["file: not UTF-8 text; save it as UTF-8"]) from None
    except OSError as error:
        raise DefinitionError([f"file: cannot be read ({error.strerror or error})"]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise DefinitionError([f"{place}: {error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise DefinitionError([f"file: {error}"]) from None


def load_definition_file(path: Path) -> dict:
    """A definition as a dict, not yet validated; DefinitionError when the file is not a YAML mapping."""
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise DefinitionError(["definition: the file must hold a mapping (slug:, version:, title:, ...)"])
    return data


# --- checking ---------------------------------------------------------------------------------


@functools.cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def format_place(path, *, root: str = "definition") -> str:
    """``["pages", 2, "fields", 3, "type"]`` → ``pages[2].fields[3].type``; the empty path is ``root``."""
    place = ""
    for part in path:
        if isinstance(part, int):
            place += f"[{part}]"
        else:
            place += f".{part}" if place else str(part)
    return place or root


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


def schema_problems(
    data, validator: jsonschema.protocols.Validator | None = None, *, root: str = "definition"
) -> list[str]:
    """Structural problems, in document order, with jsonschema's wording replaced by plainer words.

    ``validator`` defaults to the definition schema; other catalogue files (offices.yaml) pass theirs.
    """
    validator = validator or _schema_validator()
    errors = sorted(validator.iter_errors(data), key=lambda e: _sort_key(e.absolute_path))
    problems: list[str] = []
    for error in errors:
        for path, message in _describe(error, data):
            problem = f"{format_place(path, root=root)}: {message}"
            if problem not in problems:
                problems.append(problem)
    return problems


def _sort_key(path) -> tuple:
    return tuple((isinstance(part, str), part) for part in path)


_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


def _kind_of(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _parent(data, path: list):
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def _describe(error: jsonschema.ValidationError, data) -> list[tuple[list, str]]:
    path = list(error.absolute_path)
    value = error.instance
    custom = error.schema.get("x-messages", {}).get(error.validator) if isinstance(error.schema, dict) else None
    if custom:
        parent = _parent(data, path) if path else None
        field_type = parent.get("type") if isinstance(parent, dict) else None
        key = path[-1] if path else None
        return [(path, custom.format(value=repr(value), key=key, field_type=field_type))]
    match error.validator:
        case "required":
            return [(path, f"missing key {key!r}") for key in error.validator_value if key not in value]
        case "additionalProperties":
            known = error.schema.get("properties", {})
            return [(path, f"unknown key {key!r}") for key in value if key not in known]
        case "type":
            expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            message = f"expected {' or '.join(_TYPE_NAMES[t] for t in expected)}, got {_kind_of(value)}"
            if isinstance(value, bool) and "string" in expected:
                message += " (YAML reads an unquoted yes, no, on or off as true/false; put it in quotes)"
            return [(path, message)]
        case "enum":
            return [(path, f"{value!r} is not one of: {', '.join(map(repr, error.validator_value))}")]
        case "const":
            return [(path, f"must be {json.dumps(error.validator_value)}")]
        case "minLength":
            return [(path, "must not be empty")]
        case "minItems":
            count = error.validator_value
            return [(path, "must not be empty" if count == 1 else f"needs at least {count} items")]
        case "uniqueItems":
            return [(path, "lists the same value twice")]
        case "minimum":
            return [(path, f"must be at least {error.validator_value}")]
        case "pattern":
            return [(path, f"{value!r} does not have the expected form")]
    return [(path, error.message)]


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


def field_by_name(definition: dict, name: str) -> dict | None:
    """The top-level field called ``name``, or None."""
    return next((field for _page, field in iter_fields(definition) if field["name"] == name), None)


def localized(text: dict | None, locale: str) -> str:
    """``text[locale]``, falling back to Japanese (the one language every definition has)."""
    if not text:
        return ""
    language = (locale or "ja").replace("-", "_").split("_")[0]
    return text.get(language) or text.get("ja", "")


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
