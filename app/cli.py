"""``flask`` command groups: thin wrappers over the services; each command commits once."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from app.db import intending_to_write
from app.errors import ValidationFailed
from app.extensions import db

catalogue_cli = AppGroup("catalogue", help="Form definitions: load, list, check.")
demo_cli = AppGroup("demo", help="Demonstration data.")
submissions_cli = AppGroup("submissions", help="Submissions, for operators and scripts.")


def _catalogue_dirs(directory: str | None) -> list[Path]:
    from app.catalogue.service import built_in_catalogue_dir

    dirs = [built_in_catalogue_dir()]
    extra = current_app.config["MADOGUCHI_CATALOGUE_PATH"]
    if extra:
        dirs.append(Path(extra))
    if directory:
        dirs.append(Path(directory))
    return dirs


@catalogue_cli.command("sync")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
def catalogue_sync(directory: str | None):
    """Load offices and form definitions (built-in, MADOGUCHI_CATALOGUE_PATH, DIRECTORY) into the database."""
    from app.catalogue.service import sync_catalogue

    try:
        with intending_to_write():
            report = sync_catalogue(_catalogue_dirs(directory))
    except ValidationFailed as exc:
        db.session.rollback()
        for problem in exc.errors.get("problems", [exc.message]):
            click.echo(problem, err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(str(report))


@catalogue_cli.command("list")
def catalogue_list():
    """Published forms: SLUG<TAB>VERSION<TAB>OFFICE<TAB>TITLE."""
    from app.catalogue.service import published_forms

    for form in published_forms():
        click.echo(f"{form.slug}\t{form.version}\t{form.office.code}\t{form.title_ja}")


@catalogue_cli.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def catalogue_validate(path: str):
    """Check one definition file; print every problem with its place and exit 1 if there is any."""
    from app.catalogue.service import validate_file

    problems = validate_file(Path(path))
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo(f"{path}: ok")


@demo_cli.command("seed")
def demo_seed():
    """Demo offices, forms, residents and submissions; runs the jobs it creates."""
    from app.demo import seed

    with intending_to_write():
        for line in seed(_catalogue_dirs(None)):
            click.echo(line)


@submissions_cli.command("list")
@click.option("--state", help="Machine state name, e.g. submitted.")
@click.option("--form", "form_slug", help="Form slug.")
def submissions_list(state: str | None, form_slug: str | None):
    """One line per submission, no header: RECEIPT<TAB>FORM_SLUG<TAB>STATE."""
    from app.catalogue.models import FormVersion
    from app.submissions.models import Submission

    query = (
        sa.select(Submission.receipt_number, FormVersion.slug, Submission.state)
        .join(FormVersion, Submission.form_version_id == FormVersion.id)
        .where(Submission.receipt_number.is_not(None))
        .order_by(Submission.id)
    )
    if state:
        query = query.where(Submission.state == state)
    if form_slug:
        query = query.where(FormVersion.slug == form_slug)
    for receipt, slug, current_state in db.session.execute(query).yield_per(1000):
        click.echo(f"{receipt}\t{slug}\t{current_state}")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
def worker_command(once: bool):
    """Run background jobs: mail now; rendering, sealing and fax as they land."""
    from app.delivery.worker import run_due, run_forever

    if once:
        count = run_due()
        click.echo(f"ran {count} job(s)")
        return
    click.echo("worker started; Ctrl-C to stop")
    run_forever()


def register_cli(app: Flask) -> None:
    from app.accounts.cli import staff_cli
    from app.audit.cli import audit_cli
    from app.documents.cli import documents_cli, fax_cli
    from app.seals.cli import seals_cli

    for group in (catalogue_cli, demo_cli, submissions_cli, staff_cli, audit_cli, seals_cli, documents_cli, fax_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
