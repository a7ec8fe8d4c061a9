"""Publishing the catalogue: all or nothing, idempotent, and published versions never change."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from app.accounts.models import Office
from app.catalogue.definition import apply_defaults, canonical_checksum, load_definition_file
from app.catalogue.models import FormVersion
from app.catalogue.service import built_in_catalogue_dir, latest_version, published_forms, sync_catalogue
from app.cli import catalogue_references
from app.errors import ValidationFailed

pytestmark = pytest.mark.db


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_sync_publishes_offices_and_forms_once(db):
    report = sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    assert sorted(report.added["offices"]) == ["fukushi", "kodomo", "shimin", "zeimu"]
    assert sorted(report.forms_added) == [
        "inkan-shomei@1", "inkan-shomei@2", "inkan-shomei@3", "inkan-shomei@4", "juminhyo@1", "juminhyo@2",
        "juminhyo@3", "juminhyo@4", "tenkyo@1", "tenkyo@2", "tenkyo@3", "tenkyo@4"]
    juminhyo = latest_version("juminhyo")
    source = load_definition_file(built_in_catalogue_dir() / "juminhyo.v4.yaml")
    assert juminhyo.definition == apply_defaults(source)
    assert juminhyo.checksum == canonical_checksum(source)
    assert (juminhyo.title_ja, juminhyo.office.code) == ("住民票の写し等交付請求書", "shimin")

    again = sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    assert again.forms_added == [] and sorted(again.forms_unchanged) == sorted(report.forms_added)
    assert sorted(again.unchanged["offices"]) == ["fukushi", "kodomo", "shimin", "zeimu"]
    assert count(db, FormVersion) == 12


def test_an_edited_published_version_is_refused_and_nothing_is_written(db, tmp_path):
    sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    extra = tmp_path / "extra"
    extra.mkdir()
    text = (built_in_catalogue_dir() / "juminhyo.v1.yaml").read_text(encoding="utf-8")
    (extra / "juminhyo.v1.yaml").write_text(text.replace("retention_years: 3", "retention_years: 5"), encoding="utf-8")
    (extra / "offices.yaml").write_text("- {code: somu, name: {ja: 総務課, en: General Affairs}}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        sync_catalogue([extra], catalogue_references())
    assert caught.value.errors["problems"] == [
        f"{extra / 'juminhyo.v1.yaml'}: juminhyo@1 is already published and cannot change; publish a new version"
    ]
    with pytest.raises(ValidationFailed) as caught:
        sync_catalogue([built_in_catalogue_dir(), extra], catalogue_references())
    built_in = built_in_catalogue_dir() / "juminhyo.v1.yaml"
    assert caught.value.errors["problems"] == [
        f"{extra / 'juminhyo.v1.yaml'}: juminhyo@1 is also defined, differently, in {built_in}"
    ]
    db.session.rollback()
    assert db.session.scalar(sa.select(Office).where(Office.code == "somu")) is None


def test_a_new_version_is_published_beside_the_old_one(db, tmp_path):
    sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    extra = tmp_path / "extra"
    extra.mkdir()
    text = (built_in_catalogue_dir() / "juminhyo.v2.yaml").read_text(encoding="utf-8")
    (extra / "juminhyo-5.yaml").write_text(text.replace("version: 2", "version: 5"), encoding="utf-8")
    shutil.copy(built_in_catalogue_dir() / "tenkyo.v1.yaml", extra / "tenkyo-copy.yaml")  # identical: harmless
    report = sync_catalogue([built_in_catalogue_dir(), extra], catalogue_references())
    assert report.forms_added == ["juminhyo@5"]
    assert latest_version("juminhyo").version == 5
    assert [(form.slug, form.version) for form in published_forms()] == [
        ("inkan-shomei", 4),
        ("juminhyo", 5),
        ("tenkyo", 4),
    ]


def test_a_broken_catalogue_writes_nothing_and_lists_every_problem(db, tmp_path):
    folder = tmp_path / "catalogue"
    shutil.copytree(built_in_catalogue_dir(), folder)
    text = (folder / "inkan.v1.yaml").read_text(encoding="utf-8")
    head, tail = text.rsplit("type: phone", 1)
    (folder / "inkan.v1.yaml").write_text(head + "type: dat" + tail, encoding="utf-8")
    (folder / "tenkyo.v1.yaml").write_text(
        (folder / "tenkyo.v1.yaml")
        .read_text(encoding="utf-8")
        .replace("offices: [zeimu, fukushi]", "offices: [zeimu, kaikei]"),
        encoding="utf-8",
    )
    (folder / "destinations.yaml").write_text("- not a form\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        sync_catalogue([folder], catalogue_references())
    problems = caught.value.errors["problems"]
    # destinations.yaml is read as destinations (before the forms), never as a form.
    assert problems[0] == f"{folder / 'destinations.yaml'}: destinations[0]: expected a mapping, got text"
    assert problems[1] == f"{folder / 'inkan.v1.yaml'}: pages[2].fields[3].type: unknown field type 'dat'"
    assert problems[2].startswith(f"{folder / 'tenkyo.v1.yaml'}: route[2].offices[1]: unknown office 'kaikei'")
    assert len(problems) == 3
    db.session.rollback()
    assert count(db, Office) == 0 and count(db, FormVersion) == 0
