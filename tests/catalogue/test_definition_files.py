"""Definition files (YAML errors, offices.yaml) and the helpers the portal uses on a definition."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from app.catalogue.definition import (
    apply_defaults,
    canonical_checksum,
    field_by_name,
    is_shown,
    iter_fields,
    load_definition_file,
    validate_definition,
)
from app.catalogue.service import built_in_catalogue_dir, validate_file
from app.cli import catalogue_references
from app.i18n import localized
from app.yamlfiles import FileProblems
from tests.support.catalogue import minimal_definition as minimal

DEFINITIONS = built_in_catalogue_dir()


def file_problems(path) -> list[str]:
    return validate_file(path, catalogue_references())


# --- files -------------------------------------------------------------------------------------


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("slug: x\ntitle: {ja: a, en: b\nversion: 1\n", encoding="utf-8")
    with pytest.raises(FileProblems) as caught:
        load_definition_file(path)
    assert caught.value.problems[0].startswith("line 3, column ")
    assert file_problems(path)[0].startswith(f"{path}: line 3, column ")


def test_a_repeated_key_is_an_error_not_a_silent_overwrite(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("slug: x\nversion: 1\nslug: y\n", encoding="utf-8")
    assert file_problems(path) == [f"{path}: line 3, column 1: the key 'slug' appears twice"]


def test_a_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    assert file_problems(path) == [f"{path}: definition: the file must hold a mapping (slug:, version:, title:, ...)"]


def test_offices_file_problems(tmp_path):
    path = tmp_path / "offices.yaml"
    path.write_text("- {code: shimin, name: {ja: 市民課}}\n- {code: shimin, name: {ja: 市民課, en: Citizens}}\n")
    assert file_problems(path) == [f"{path}: offices[0].name: missing key 'en'"]
    path.write_text("- {code: shimin, name: {ja: 市民課, en: C}}\n- {code: shimin, name: {ja: 市民課, en: C}}\n")
    assert file_problems(path) == [f"{path}: offices[1].code: the code 'shimin' is already used at offices[0]"]


def test_validate_file_knows_offices_beside_the_file(tmp_path):
    definition = minimal(office="somu")
    (tmp_path / "form.yaml").write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    assert file_problems(tmp_path / "form.yaml") == [
        f"{tmp_path / 'form.yaml'}: office: unknown office 'somu' (known offices: fukushi, kodomo, shimin, zeimu)"
    ]
    (tmp_path / "offices.yaml").write_text(
        "- {code: somu, name: {ja: 総務課, en: General Affairs}}\n", encoding="utf-8"
    )
    assert file_problems(tmp_path / "form.yaml") == []


# --- defaults, checksum, helpers ---------------------------------------------------------------


def test_apply_defaults_fills_every_default_without_touching_the_original():
    definition = minimal()
    definition["pages"][1]["fields"] += [
        {"name": "story", "type": "textarea", "label": {"ja": "詳細"}},
        {"name": "scan", "type": "file", "label": {"ja": "書類"}},
        {"name": "number", "type": "mynumber", "label": {"ja": "番号"}, "required": False},
        {"name": "people", "type": "group", "label": {"ja": "人"}, "fields": [{"name": "who", "type": "text"}]},
    ]  # fmt: skip
    definition["pages"][1]["fields"][-1]["fields"][0]["label"] = {"ja": "氏名"}
    original = copy.deepcopy(definition)
    filled = apply_defaults(definition)
    assert definition == original
    assert validate_definition(filled) == []
    text, story, scan, number, people = filled["pages"][1]["fields"]
    assert (text["required"], text["sensitive"], text["print"], text["max_length"]) == (True, False, True, 200)
    assert story["max_length"] == 2000
    assert (scan["accept"], scan["max_bytes"]) == (["pdf", "jpeg", "png"], 5 * 1024 * 1024)
    assert (number["required"], number["sensitive"], number["print"]) == (False, True, False)
    assert (people["min_items"], people["max_items"], people["fields"][0]["max_length"]) == (0, 10, 200)
    assert "required" not in people
    assert apply_defaults(filled) == filled


def test_checksum_is_canonical():
    definition = minimal()
    reordered = json.loads(json.dumps(definition, sort_keys=True))
    assert canonical_checksum(definition) == canonical_checksum(dict(reversed(list(reordered.items()))))
    assert len(canonical_checksum(definition)) == 64
    changed = minimal(retention_years=2)
    assert canonical_checksum(changed) != canonical_checksum(definition)
    expected = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert canonical_checksum(definition) == hashlib.sha256(expected).hexdigest()


def test_iter_fields_and_field_by_name():
    definition = minimal()
    assert [(page["id"], field["name"]) for page, field in iter_fields(definition)] == [
        ("first", "colour"),
        ("first", "agree"),
        ("second", "note"),
    ]
    assert field_by_name(definition, "agree")["type"] == "yesno"
    assert field_by_name(definition, "nothing") is None


def test_localized_falls_back_to_japanese():
    assert localized({"ja": "住所", "en": "Address"}, "en") == "Address"
    assert localized({"ja": "住所", "en": "Address"}, "en_GB") == "Address"
    assert localized({"ja": "住所"}, "en") == "住所"
    assert localized({"ja": "住所", "en": "Address"}, "fr") == "住所"
    assert localized(None, "ja") == ""


@pytest.mark.parametrize(
    ("condition", "answers", "shown"),
    [
        (None, {}, True),
        ({"field": "a", "equals": "yes"}, {"a": "yes"}, True),
        ({"field": "a", "equals": "yes"}, {"a": "no"}, False),
        ({"field": "a", "equals": "yes"}, {}, False),
        ({"field": "a", "equals": 3}, {"a": "3"}, True),
        ({"field": "a", "in": ["x", "y"]}, {"a": "y"}, True),
        ({"field": "a", "in": ["x", "y"]}, {"a": ["z", "x"]}, True),
        ({"field": "a", "equals": "x"}, {"a": ["z"]}, False),
        ({"field": "a", "filled": True}, {"a": ""}, False),
        ({"field": "a", "filled": True}, {"a": {"family": "", "given": "太郎"}}, True),
        ({"field": "a", "filled": True}, {"a": []}, False),
    ],
)
def test_is_shown(condition, answers, shown):
    assert is_shown(condition, answers) is shown


def test_definitions_directory_holds_only_yaml():
    assert {path.suffix for path in Path(DEFINITIONS).iterdir()} == {".yaml"}
