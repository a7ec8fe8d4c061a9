"""Form definitions: the built-in forms are valid, and every broken definition says where and why."""

from __future__ import annotations

import json

import jsonschema
import pytest

from app.accounts.offices import office_problems
from app.catalogue.definition import (
    SCHEMA_PATH,
    apply_defaults,
    field_by_name,
    iter_fields,
    load_definition_file,
    validate_definition,
)
from app.catalogue.service import built_in_catalogue_dir, validate_file
from app.cli import catalogue_references
from tests.support.catalogue import minimal_definition as minimal

DEFINITIONS = built_in_catalogue_dir()
OFFICES = {"shimin", "zeimu", "fukushi", "kodomo"}
FORM_FILES = ["juminhyo.v1.yaml", "tenkyo.v1.yaml", "inkan.v1.yaml"]


def file_problems(path) -> list[str]:
    return validate_file(path, catalogue_references())


def load(name: str = "inkan.v1.yaml") -> dict:
    return load_definition_file(DEFINITIONS / name)


# --- the built-in catalogue --------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", FORM_FILES)
def test_built_in_definitions_are_valid(name):
    definition = load(name)
    assert validate_definition(definition, office_codes=OFFICES) == []
    assert file_problems(DEFINITIONS / name) == []
    assert definition["version"] == 1
    assert definition["retention_years"] >= 1
    assert definition["declaration"]["ja"] and definition["declaration"]["en"]
    for _page, field in iter_fields(definition):
        assert field["label"].get("en"), field["name"]


def test_built_in_forms_are_the_expected_ones():
    slugs = {load(name)["slug"]: load(name) for name in FORM_FILES}
    assert set(slugs) == {"juminhyo", "tenkyo", "inkan-shomei"}
    tenkyo = slugs["tenkyo"]
    assert [step["step"] for step in tenkyo["route"]] == ["uketsuke", "shinsa", "gougi", "kessai"]
    assert tenkyo["route"][2]["offices"] == ["zeimu", "fukushi"]
    mynumber = field_by_name(apply_defaults(tenkyo), "filer_mynumber")
    assert (mynumber["type"], mynumber["required"], mynumber["sensitive"], mynumber["print"]) == (
        "mynumber", False, True, False
    )  # fmt: skip
    inkan = slugs["inkan-shomei"]
    proxy_page = next(page for page in inkan["pages"] if page["id"] == "proxy")
    assert proxy_page["show_if"] == {"field": "applicant_role", "equals": "proxy"}
    upload = field_by_name(inkan, "power_of_attorney")
    assert (upload["type"], upload["accept"], upload["max_bytes"]) == ("file", ["pdf", "jpeg", "png"], 5 * 1024 * 1024)


def test_built_in_offices():
    from app.yamlfiles import load_yaml_file

    offices = load_yaml_file(DEFINITIONS / "offices.yaml")
    assert office_problems(offices) == []
    assert {office["code"]: office["name"]["ja"] for office in offices} == {
        "shimin": "市民課",
        "zeimu": "税務課",
        "fukushi": "福祉課",
        "kodomo": "こども家庭課",
    }
    assert file_problems(DEFINITIONS / "offices.yaml") == []


# --- structural problems -----------------------------------------------------------------------


def test_unknown_field_type_is_reported_exactly_at_its_place():
    broken = load("inkan.v1.yaml")
    broken["pages"][2]["fields"][3]["type"] = "dat"
    assert validate_definition(broken, office_codes=OFFICES) == ["pages[2].fields[3].type: unknown field type 'dat'"]


def test_validate_file_reports_the_file_and_the_place(tmp_path):
    text = (DEFINITIONS / "inkan.v1.yaml").read_text(encoding="utf-8")
    assert text.count("type: phone") == 2
    broken = tmp_path / "inkan.v1.yaml"
    # The second phone field is the proxy's, pages[2].fields[3].
    head, tail = text.rsplit("type: phone", 1)
    broken.write_text(head + "type: dat" + tail, encoding="utf-8")
    assert file_problems(broken) == [f"{broken}: pages[2].fields[3].type: unknown field type 'dat'"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("route"), "definition: missing key 'route'"),
        (lambda d: d["pages"][0]["fields"][1].pop("label"), "pages[0].fields[1]: missing key 'label'"),
        (lambda d: d["pages"][1]["fields"][0].update(lable={"ja": "x"}), "pages[1].fields[0]: unknown key 'lable'"),
        (lambda d: d.update(version="1"), "version: expected a whole number, got text"),
        (lambda d: d.update(version=0), "version: must be at least 1"),
        (lambda d: d.update(slug="Test Form"), "slug: 'Test Form' is not a valid slug"),
        (lambda d: d["pages"][0].update(id="First"), "pages[0].id: 'First' is not a valid name"),
        (lambda d: d["pages"][1]["fields"][0].update(required="yes"), "pages[1].fields[0].required: expected true"),
        (lambda d: d["pages"][1].update(fields=[]), "pages[1].fields: must not be empty"),
        (lambda d: d["pages"][0]["fields"][0].pop("options"), "pages[0].fields[0]: missing key 'options'"),
        (
            lambda d: d["pages"][1]["fields"][0].update(options=[]),
            "pages[1].fields[0].options: 'options' is not used by fields of type 'text'",
        ),
        (
            lambda d: d["pages"][1]["fields"].append(
                {"name": "doc", "type": "file", "label": {"ja": "書類"}, "accept": ["gif"]}
            ),
            "pages[1].fields[1].accept[0]: 'gif' is not an upload type the service accepts; use pdf, jpeg or png",
        ),
        (
            lambda d: d["pages"][1]["fields"].append(
                {"name": "num", "type": "mynumber", "label": {"ja": "番号"}, "print": True}
            ),
            "pages[1].fields[1].print: a My Number field is never printed",
        ),
        (
            lambda d: d["pages"][1]["fields"][0].update(show_if={"field": "agree", "equals": True}),
            "pages[1].fields[0].show_if.equals: expected text or a number, got true (YAML reads an unquoted yes",
        ),
        (
            lambda d: d["pages"][1].update(show_if={"field": "agree"}),
            "pages[1].show_if: a condition needs 'field' and one of 'equals', 'in' or 'filled'",
        ),
        (lambda d: d["route"][0].update(role="boss"), "route[0].role: unknown role 'boss'"),
    ],
)
def test_structural_problems_are_plain(change, problem):
    definition = minimal()
    change(definition)
    problems = validate_definition(definition)
    assert any(found.startswith(problem) for found in problems), problems


def test_every_structural_problem_is_reported_at_once():
    definition = minimal(version="1", slug="X")
    definition["pages"][0]["fields"][1]["type"] = "dat"
    definition["route"][0]["role"] = "boss"
    assert len(validate_definition(definition)) == 4


# --- rules beyond the schema -------------------------------------------------------------------


def problems_after(change, office_codes=None) -> list[str]:
    definition = minimal()
    change(definition)
    return validate_definition(definition, office_codes=office_codes)


def test_minimal_definition_is_valid():
    assert validate_definition(minimal(), office_codes={"shimin"}) == []


def test_duplicate_field_names_across_pages():
    def change(d):
        d["pages"][1]["fields"][0]["name"] = "colour"

    assert problems_after(change) == [
        "pages[1].fields[0].name: the field name 'colour' is already used at pages[0].fields[0]"
    ]


def test_duplicate_page_ids_and_option_values():
    def change(d):
        d["pages"][1]["id"] = "first"
        d["pages"][0]["fields"][0]["options"][1]["value"] = "red"

    assert problems_after(change) == [
        "pages[0].fields[0].options[1].value: the option value 'red' appears twice",
        "pages[1].id: the page id 'first' is already used at pages[0]",
    ]


def test_show_if_must_point_to_an_earlier_field():
    def later(d):
        d["pages"][0]["fields"][0]["show_if"] = {"field": "note", "filled": True}

    def unknown(d):
        d["pages"][1]["show_if"] = {"field": "color", "equals": "red"}

    def same_page_for_a_page(d):
        d["pages"][1]["show_if"] = {"field": "note", "filled": True}

    assert problems_after(later) == [
        "pages[0].fields[0].show_if.field: 'note' is asked later; a condition can only use an earlier answer"
    ]
    assert problems_after(unknown) == ["pages[1].show_if.field: there is no field named 'color' before this point"]
    assert problems_after(same_page_for_a_page) == [
        "pages[1].show_if.field: 'note' is asked later; a condition can only use an earlier answer"
    ]


def test_show_if_on_the_same_page_and_earlier_pages_is_fine():
    def change(d):
        d["pages"][0]["fields"][1]["show_if"] = {"field": "colour", "in": ["red", "blue"]}
        d["pages"][1]["show_if"] = {"field": "agree", "equals": "yes"}

    assert problems_after(change) == []


def test_show_if_values_must_be_options_of_the_field():
    def change(d):
        d["pages"][1]["show_if"] = {"field": "colour", "in": ["red", "green"]}
        d["pages"][1]["fields"][0]["show_if"] = {"field": "agree", "equals": "true"}

    assert problems_after(change) == [
        "pages[1].show_if.in[1]: 'green' is not a value of 'colour'; use one of: 'red', 'blue'",
        "pages[1].fields[0].show_if.equals: 'true' is not a value of 'agree'; use one of: 'yes', 'no'",
    ]


def test_unknown_offices_in_the_form_and_its_route():
    def change(d):
        d["office"] = "somu"
        d["route"].append({"step": "gougi", "name": {"ja": "合議"}, "offices": ["zeimu", "kaikei"], "role": "approver"})

    assert problems_after(change, office_codes={"shimin", "zeimu"}) == [
        "office: unknown office 'somu' (known offices: shimin, zeimu)",
        "route[1].offices[1]: unknown office 'kaikei' (known offices: shimin, zeimu)",
    ]
    assert problems_after(change) == []  # without office codes the check is skipped


def test_route_steps_need_one_kind_of_office_and_unique_names():
    def change(d):
        d["route"].append({"step": "kessai", "name": {"ja": "決裁"}, "role": "approver"})

    assert problems_after(change) == [
        "route[1].step: the step 'kessai' is already used at route[0]",
        "route[1]: missing key 'office' (or 'offices' for a step that several offices agree on)",
    ]


def test_ranges_must_not_be_upside_down():
    def change(d):
        d["pages"][1]["fields"].append(
            {"name": "copies", "type": "number", "label": {"ja": "通数"}, "min": 5, "max": 1}
        )
        d["pages"][1]["fields"].append(
            {"name": "people", "type": "group", "label": {"ja": "人"}, "min_items": 3, "max_items": 2,
             "fields": [{"name": "who", "type": "text", "label": {"ja": "氏名"}}]}
        )  # fmt: skip

    assert problems_after(change) == [
        "pages[1].fields[1].min: min (5) is greater than max (1)",
        "pages[1].fields[2].min_items: min_items (3) is greater than max_items (2)",
    ]


def test_lookup_from_must_name_a_postcode_field():
    def change(d):
        d["pages"][1]["fields"].append(
            {"name": "home", "type": "address", "label": {"ja": "住所"}, "lookup_from": "note"}
        )
        d["pages"][1]["fields"].append(
            {"name": "work", "type": "address", "label": {"ja": "住所"}, "lookup_from": "zip"}
        )

    assert problems_after(change) == [
        "pages[1].fields[1].lookup_from: 'note' is a text field; lookup_from must name a postcode field",
        "pages[1].fields[2].lookup_from: there is no field named 'zip'",
    ]


def test_groups_hold_only_simple_fields_with_unique_names():
    subfields = [
        {"name": "who", "type": "text", "label": {"ja": "氏名"}},
        {"name": "who", "type": "text", "label": {"ja": "氏名"}},
        {
            "name": "inner",
            "type": "group",
            "label": {"ja": "内"},
            "fields": [{"name": "x", "type": "text", "label": {"ja": "x"}}],
        },
        {"name": "scan", "type": "file", "label": {"ja": "書類"}},
        {"name": "number", "type": "mynumber", "label": {"ja": "番号"}},
        {"name": "age", "type": "number", "label": {"ja": "年齢"}, "show_if": {"field": "who", "filled": True}},
    ]

    def change(d):
        d["pages"][1]["fields"].append({"name": "people", "type": "group", "label": {"ja": "人"}, "fields": subfields})

    assert problems_after(change) == [
        "pages[1].fields[1].fields[1].name: the field name 'who' is already used at pages[1].fields[1].fields[0]",
        "pages[1].fields[1].fields[2].type: a group cannot contain another group",
        "pages[1].fields[1].fields[3].type: a group cannot contain a file field; ask for the upload on its own",
        "pages[1].fields[1].fields[4].type: a group cannot contain a mynumber field; ask for it on its own",
    ]


# --- the errand: receivers, fee, ways to receive and pay, date bounds ---------------------------------


def test_a_destination_is_a_code_or_a_code_with_purpose_and_legal_basis():
    why = {"purpose": {"ja": "目的"}, "legal_basis": {"ja": "根拠"}}
    assert problems_after(lambda d: d.update(destinations=["suido", {"code": "kaigo", **why}])) == []
    assert problems_after(lambda d: d.update(destinations=[{"code": "kaigo", "purpose": {"ja": "目的"}}])) == [
        "destinations[0]: {'code': 'kaigo', 'purpose': {'ja': '目的'}} is not a destination: give a code, or a "
        "mapping of code, purpose and legal_basis"]
    assert problems_after(lambda d: d.update(destinations=["suido", {"code": "suido", **why}])) == [
        "destinations[1]: the destination 'suido' is already listed at destinations[0]"]


def test_fee_receive_and_payment_must_name_what_exists():
    def change(d):
        d["pages"][1]["fields"].append({"name": "copies", "type": "text", "label": {"ja": "通数"}})
        d["pages"][1]["fields"].append({"name": "how", "type": "radio", "label": {"ja": "受け取り"}, "options": [
            {"value": "counter", "label": {"ja": "窓口"}}, {"value": "drone", "label": {"ja": "ドローン"}}]})
        d.update(fee={"per_copy": 300, "copies_field": "copies"},
                 receive=[{"method": "counter", "office": "nowhere"}, {"method": "post", "bring": {"ja": "印鑑"}}],
                 receive_field="how", payment=["counter", "online"])

    assert problems_after(change, office_codes={"shimin"}) == [
        "fee.copies_field: 'copies' is a text field; the number of copies is a number field",
        "receive[0].office: unknown office 'nowhere'",
        "receive[1].bring: nothing is brought to receive by post; say it in 'note'",
        "receive_field: the option 'drone' of 'how' (options[1]) is not a way to receive of this form "
        "('counter', 'post')",
    ]
    assert problems_after(lambda d: d.update(payment=["cash"])) == [
        "payment[0]: unknown way to pay 'cash'; use 'counter', 'postal_order' or 'online'"]


def test_date_bounds_are_dates_or_offsets_and_only_for_dates():
    def dated(**keys):
        def change(d):
            d["pages"][1]["fields"].append({"name": "when", "type": "date", "label": {"ja": "日"}, **keys})
        return change

    assert problems_after(dated(not_future=True, min="-120y", warn_before="-14d", warning={"ja": "遅れ"})) == []
    assert problems_after(dated(min="2026-13-01", max="+1w")) == [
        "pages[1].fields[1].max: '+1w' is not a date bound: give an ISO date (2026-04-01) or an offset from today "
        "such as -14d, +1m or -120y"]
    assert problems_after(dated(min="2026-02-30")) == ["pages[1].fields[1].min: '2026-02-30' is not a date"]
    assert problems_after(dated(min="2027-01-01", max="2026-01-01")) == [
        "pages[1].fields[1].min: min (2027-01-01) is after max (2026-01-01)"]
    assert problems_after(dated(not_future=True, max="+0d", warning={"ja": "x"})) == [
        "pages[1].fields[1].max: give 'not_future' or 'max', not both",
        "pages[1].fields[1].warning: a warning needs 'warn_before' or 'warn_after'"]

    def on_text(d):
        d["pages"][1]["fields"][0]["not_future"] = True

    assert problems_after(on_text) == [
        "pages[1].fields[0].not_future: 'not_future' is not used by fields of type 'text'"]
    assert problems_after(lambda d: d["pages"][0]["fields"].append(
        {"name": "n", "type": "number", "label": {"ja": "数"}, "min": "-1d"})) == [
        "pages[0].fields[2].min: expected a number, got text"]


@pytest.mark.parametrize("name", ["juminhyo.v4.yaml", "tenkyo.v4.yaml", "inkan.v4.yaml"])
def test_the_fourth_versions_say_why_they_collect_and_where_it_goes(name):
    definition = load(name)
    assert file_problems(DEFINITIONS / name) == []
    assert definition["purpose"]["ja"] and definition["purpose"]["en"]
    for entry in definition.get("destinations") or []:
        assert entry["purpose"]["en"] and entry["legal_basis"]["en"]
    births = [f for _page, f in iter_fields(definition) if f["name"].endswith("birth_date")]
    births += [sub for _page, f in iter_fields(definition) if f["type"] == "group" for sub in f["fields"]
               if sub["name"].endswith("birth_date")]
    assert births and all(f.get("not_future") for f in births)
