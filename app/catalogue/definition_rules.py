"""The rules of a form definition that its JSON Schema cannot express.

They run on a definition that already matches ``schema.json``, so every key the schema requires is
there. Each problem is ``"<place>: <message>"`` with the same 0-based places as the schema's.

Names: top-level field names are unique across the whole form (answers are stored by name); a group's
fields are unique within the group. Conditions (``show_if``) look backwards only: a page may depend on
fields of earlier pages, a field on fields before it (for a group's field: earlier fields of the same
group, or top-level fields before the group). A resident must have answered the question before the
form can react to it.
"""

from __future__ import annotations

import datetime as dt
import re

FIELD_TYPES = (
    "text", "textarea", "number", "date", "name", "postcode", "address", "phone", "email",
    "select", "radio", "checkboxes", "yesno", "file", "mynumber", "group",
)  # fmt: skip
CHOICE_TYPES = frozenset({"select", "radio", "checkboxes"})
YESNO_VALUES = ("yes", "no")
GROUP_DEFAULT_MAX_ITEMS = 10

# One item of a group is a row of a table on paper; an upload or a My Number per row would not print
# or protect sensibly, and nesting has no paper equivalent.
_NOT_IN_GROUP = {
    "group": "a group cannot contain another group",
    "file": "a group cannot contain a file field; ask for the upload on its own",
    "mynumber": "a group cannot contain a mynumber field; ask for it on its own",
}
# Answers a condition may only test for presence: there is nothing sensible to compare them with.
_FILLED_ONLY = frozenset({"group", "file", "mynumber", "name", "date", "address"})


class _Problems(list):
    def add(self, place: str, message: str) -> None:
        self.append(f"{place}: {message}")


def rule_problems(data: dict, *, office_codes: set[str] | None = None) -> list[str]:
    problems = _Problems()
    _check_pages(data["pages"], problems)
    _check_offices(data, office_codes, problems)
    _check_destinations(data.get("destinations") or [], problems)
    _check_errand(data, office_codes, problems)
    return list(problems)


def _check_errand(data: dict, office_codes: set[str] | None, problems: _Problems) -> None:
    """The fee, the ways to receive the result and to pay: what they name must exist and fit."""
    fields = {field["name"]: field for page in data["pages"] for field in page["fields"]}
    copies = (data.get("fee") or {}).get("copies_field")
    if copies is not None:
        target = fields.get(copies)
        if target is None:
            problems.add("fee.copies_field", f"there is no field named {copies!r}")
        elif target["type"] != "number":
            problems.add("fee.copies_field",
                         f"{copies!r} is a {target['type']} field; the number of copies is a number field")
    methods: dict[str, str] = {}
    for index, way in enumerate(data.get("receive") or []):
        place = f"receive[{index}]"
        if way["method"] in methods:
            problems.add(f"{place}.method", f"{way['method']!r} is already listed at {methods[way['method']]}")
        methods.setdefault(way["method"], place)
        if "office" in way and office_codes is not None and way["office"] not in office_codes:
            problems.add(f"{place}.office", f"unknown office {way['office']!r}")
        if way["method"] == "post" and "bring" in way:
            problems.add(f"{place}.bring", "nothing is brought to receive by post; say it in 'note'")
    chosen_by = data.get("receive_field")
    if chosen_by is not None:
        target = fields.get(chosen_by)
        if not methods:
            problems.add("receive_field", "there is no 'receive' to choose from")
        elif target is None:
            problems.add("receive_field", f"there is no field named {chosen_by!r}")
        elif target["type"] not in ("radio", "select"):
            problems.add("receive_field", f"{chosen_by!r} is a {target['type']} field; use a radio or select field")
        else:
            for option_index, option in enumerate(target["options"]):
                if option["value"] not in methods:
                    problems.add("receive_field",
                                 f"the option {option['value']!r} of {chosen_by!r} (options[{option_index}]) is not a "
                                 f"way to receive of this form ({', '.join(map(repr, methods))})")


def _check_destinations(items: list, problems: _Problems) -> None:
    places: dict[str, str] = {}
    for index, item in enumerate(items):
        code = item if isinstance(item, str) else item["code"]
        if code in places:
            problems.add(f"destinations[{index}]", f"the destination {code!r} is already listed at {places[code]}")
        places.setdefault(code, f"destinations[{index}]")


def _option_values(field: dict) -> list[str] | None:
    if field["type"] in CHOICE_TYPES:
        return [option["value"] for option in field["options"]]
    if field["type"] == "yesno":
        return list(YESNO_VALUES)
    return None


def _check_pages(pages: list[dict], problems: _Problems) -> None:
    everything = {field["name"]: field for page in pages for field in page["fields"]}
    page_places: dict[str, str] = {}
    field_places: dict[str, str] = {}
    earlier: dict[str, dict] = {}
    for page_index, page in enumerate(pages):
        place = f"pages[{page_index}]"
        if page["id"] in page_places:
            problems.add(f"{place}.id", f"the page id {page['id']!r} is already used at {page_places[page['id']]}")
        page_places.setdefault(page["id"], place)
        if "show_if" in page:
            _check_condition(page["show_if"], earlier, everything, f"{place}.show_if", problems)
        for field_index, field in enumerate(page["fields"]):
            field_place = f"{place}.fields[{field_index}]"
            name = field["name"]
            if name in field_places:
                problems.add(f"{field_place}.name", f"the field name {name!r} is already used at {field_places[name]}")
            field_places.setdefault(name, field_place)
            _check_field(field, field_place, earlier, everything, problems)
            earlier.setdefault(name, field)


def _check_condition(condition: dict, earlier: dict, everything: dict, place: str, problems: _Problems) -> None:
    name = condition["field"]
    target = earlier.get(name)
    if target is None:
        if name in everything:
            problems.add(f"{place}.field", f"{name!r} is asked later; a condition can only use an earlier answer")
        else:
            problems.add(f"{place}.field", f"there is no field named {name!r} before this point")
        return
    if target["type"] in _FILLED_ONLY and "filled" not in condition:
        problems.add(place, f"{name!r} is a {target['type']} field; a condition can only test it with 'filled: true'")
        return
    allowed = _option_values(target)
    if allowed is None:
        return
    if "equals" in condition:
        tested = [("equals", condition["equals"])]
    else:
        tested = [(f"in[{index}]", value) for index, value in enumerate(condition.get("in", []))]
    for key, value in tested:
        if str(value) not in allowed:
            problems.add(
                f"{place}.{key}",
                f"{value!r} is not a value of {name!r}; use one of: {', '.join(map(repr, allowed))}",
            )


def _check_field(field: dict, place: str, earlier: dict, everything: dict, problems: _Problems) -> None:
    if "show_if" in field:
        _check_condition(field["show_if"], earlier, everything, f"{place}.show_if", problems)
    field_type = field["type"]
    if field_type in CHOICE_TYPES:
        seen: set[str] = set()
        for index, option in enumerate(field["options"]):
            if option["value"] in seen:
                problems.add(f"{place}.options[{index}].value", f"the option value {option['value']!r} appears twice")
            seen.add(option["value"])
    elif field_type == "number" and "min" in field and "max" in field and field["min"] > field["max"]:
        problems.add(f"{place}.min", f"min ({field['min']}) is greater than max ({field['max']})")
    elif field_type == "date":
        _check_date_bounds(field, place, problems)
    elif field_type == "address" and "lookup_from" in field:
        source = everything.get(field["lookup_from"])
        if source is None:
            problems.add(f"{place}.lookup_from", f"there is no field named {field['lookup_from']!r}")
        elif source["type"] != "postcode":
            problems.add(
                f"{place}.lookup_from",
                f"{field['lookup_from']!r} is a {source['type']} field; lookup_from must name a postcode field",
            )
    elif field_type == "group":
        _check_group(field, place, earlier, everything, problems)


_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _check_date_bounds(field: dict, place: str, problems: _Problems) -> None:
    dates = {}
    for key in ("min", "max", "warn_before", "warn_after"):
        value = field.get(key)
        if isinstance(value, str) and _ISO.fullmatch(value):
            try:
                dates[key] = dt.date.fromisoformat(value)
            except ValueError:
                problems.add(f"{place}.{key}", f"{value!r} is not a date")
    if "min" in dates and "max" in dates and dates["min"] > dates["max"]:
        problems.add(f"{place}.min", f"min ({field['min']}) is after max ({field['max']})")
    if field.get("not_future") and "max" in field:
        problems.add(f"{place}.max", "give 'not_future' or 'max', not both")
    if field.get("not_past") and "min" in field:
        problems.add(f"{place}.min", "give 'not_past' or 'min', not both")
    if "warning" in field and not ("warn_before" in field or "warn_after" in field):
        problems.add(f"{place}.warning", "a warning needs 'warn_before' or 'warn_after'")


def _check_group(group: dict, place: str, earlier: dict, everything: dict, problems: _Problems) -> None:
    min_items = group.get("min_items", 0)
    max_items = group.get("max_items", GROUP_DEFAULT_MAX_ITEMS)
    if min_items > max_items:
        problems.add(f"{place}.min_items", f"min_items ({min_items}) is greater than max_items ({max_items})")
    # Inside an item, its own fields shadow top-level ones of the same name.
    item_earlier = dict(earlier)
    item_everything = everything | {subfield["name"]: subfield for subfield in group["fields"]}
    places: dict[str, str] = {}
    for index, subfield in enumerate(group["fields"]):
        subplace = f"{place}.fields[{index}]"
        if subfield["type"] in _NOT_IN_GROUP:
            problems.add(f"{subplace}.type", _NOT_IN_GROUP[subfield["type"]])
            continue
        name = subfield["name"]
        if name in places:
            problems.add(f"{subplace}.name", f"the field name {name!r} is already used at {places[name]}")
        places.setdefault(name, subplace)
        _check_field(subfield, subplace, item_earlier, item_everything, problems)
        item_earlier[name] = subfield


def _check_offices(data: dict, office_codes: set[str] | None, problems: _Problems) -> None:
    def check(code: str, place: str) -> None:
        if office_codes is not None and code not in office_codes:
            known = ", ".join(sorted(office_codes)) or "none"
            problems.add(place, f"unknown office {code!r} (known offices: {known})")

    check(data["office"], "office")
    step_places: dict[str, str] = {}
    for index, step in enumerate(data["route"]):
        place = f"route[{index}]"
        if step["step"] in step_places:
            problems.add(f"{place}.step", f"the step {step['step']!r} is already used at {step_places[step['step']]}")
        step_places.setdefault(step["step"], place)
        if "office" in step and "offices" in step:
            problems.add(place, "give 'office' or 'offices', not both")
        elif "office" not in step and "offices" not in step:
            problems.add(place, "missing key 'office' (or 'offices' for a step that several offices agree on)")
        if "office" in step:
            check(step["office"], f"{place}.office")
        for office_index, code in enumerate(step.get("offices", [])):
            check(code, f"{place}.offices[{office_index}]")
