"""`flask catalogue validate | sync | list` through the real CLI."""

from __future__ import annotations

import yaml

from app.catalogue.definition import load_definition_file
from app.catalogue.service import built_in_catalogue_dir


def test_validate_rejects_a_broken_definition_and_names_the_place(runner, tmp_path):
    definition = load_definition_file(built_in_catalogue_dir() / "inkan.v1.yaml")
    definition["pages"][2]["fields"][3]["type"] = "dat"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["catalogue", "validate", str(path)])
    assert result.exit_code == 1
    assert "pages[2].fields[3].type: unknown field type 'dat'" in result.output


def test_validate_accepts_every_built_in_definition(runner):
    for path in sorted(built_in_catalogue_dir().glob("*.yaml")):
        result = runner.invoke(args=["catalogue", "validate", str(path)])
        assert result.exit_code == 0, (path.name, result.output)


def test_sync_then_list(runner, db):
    assert runner.invoke(args=["catalogue", "sync"]).exit_code == 0
    listed = runner.invoke(args=["catalogue", "list"]).output.splitlines()
    slugs = {line.split("\t")[0] for line in listed}
    assert {"juminhyo", "tenkyo", "inkan-shomei"} <= slugs
    again = runner.invoke(args=["catalogue", "sync"])
    assert again.exit_code == 0 and "added" not in again.output.replace("0 added", "")


def test_h2_production_syncs_only_its_own_catalogue_never_the_demo(app, runner, db, monkeypatch, tmp_path):
    """The built-in folder is demo data (fictitious offices, a loopback webhook, demo fax numbers)."""
    import shutil

    import sqlalchemy as sa

    from app.delivery.models import Destination

    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    nothing = runner.invoke(args=["catalogue", "sync"])
    assert nothing.exit_code == 1 and "MADOGUCHI_CATALOGUE_PATH" in nothing.output
    own = tmp_path / "catalogue"
    own.mkdir()
    shutil.copy(built_in_catalogue_dir() / "offices.yaml", own / "offices.yaml")
    assert runner.invoke(args=["catalogue", "sync", str(own)]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Destination)) == 0
    assert runner.invoke(args=["catalogue", "list"]).output == ""


def test_h2_demo_seed_is_refused_in_production(app, runner, db, monkeypatch):
    from app.accounts.models import Staff

    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 1 and "refused in production" in result.output
    assert "admin@city.example.lg.jp" not in result.output
    import sqlalchemy as sa

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 0
