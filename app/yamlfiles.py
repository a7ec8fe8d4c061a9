"""Reading the catalogue's YAML files (offices, destinations, form definitions) and saying what is wrong
with them in plain words. No Flask imports.

Problems are ``"<place>: <message>"`` strings, the place a path into the document
(``pages[2].fields[3].type``, 0-based), so an administrator can fix a file in one pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml


class FileProblems(ValueError):
    """A catalogue file that cannot be read or used; ``problems`` are ``"<place>: <message>"`` strings."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


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
    """The YAML document in ``path`` (safe loader); FileProblems (with a line number) when it cannot be read."""
    try:
        # utf-8-sig: files saved by Windows Notepad start with a BOM.
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblems(["file: not UTF-8 text; save it as UTF-8"]) from None
    except OSError as error:
        raise FileProblems([f"file: cannot be read ({error.strerror or error})"]) from None
    return load_yaml_text(text)


def load_yaml_text(text: str):
    """The YAML document in ``text`` (safe loader, no repeated keys); FileProblems when it cannot be read."""
    try:
        # bandit B506: a SafeLoader subclass (no object tags)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # nosec B506
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise FileProblems([f"{place}: {error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise FileProblems([f"file: {error}"]) from None


def format_place(path, *, root: str = "definition") -> str:
    """``["pages", 2, "fields", 3, "type"]`` → ``pages[2].fields[3].type``; the empty path is ``root``."""
    place = ""
    for part in path:
        if isinstance(part, int):
            place += f"[{part}]"
        else:
            place += f".{part}" if place else str(part)
    return place or root


def schema_problems(data, validator: jsonschema.protocols.Validator, *, root: str = "definition") -> list[str]:
    """Structural problems, in document order, with jsonschema's wording replaced by plainer words."""
    errors = sorted(validator.iter_errors(data), key=lambda e: _sort_key(e.absolute_path))
    problems: list[str] = []
    for error in errors:
        for path, message in _describe(error, data):
            problem = f"{format_place(path, root=root)}: {message}"
            if problem not in problems:
                problems.append(problem)
    return problems


def read_coded_list(path: Path, key: str, validator: jsonschema.protocols.Validator
                    ) -> tuple[dict[str, dict], list[str]]:
    """({code: item}, problems) from a file holding a list of items with unique ``code``s (offices.yaml,
    destinations.yaml); ``validator`` checks ``{key: data}``, so problems read ``offices[2].code``.
    Problems are prefixed with the file."""
    try:
        data = load_yaml_file(path)
    except FileProblems as error:
        return {}, [f"{path}: {problem}" for problem in error.problems]
    problems = schema_problems({key: data}, validator)
    if not problems:
        places: dict[str, str] = {}
        for index, item in enumerate(data or []):
            place = f"{key}[{index}]"
            if item["code"] in places:
                problems.append(f"{place}.code: the code {item['code']!r} is already used at {places[item['code']]}")
            places.setdefault(item["code"], place)
    if problems:
        return {}, [f"{path}: {problem}" for problem in problems]
    return {item["code"]: item for item in data or []}, []


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
