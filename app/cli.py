"""``flask`` commands: thin wrappers over the services; each command commits once.

Each domain keeps its own group (``staff``, ``audit``, ``seals``, ``submissions``, ``documents``,
``fax``, ``blobs``, ``worker``); this module holds the ``catalogue`` and ``demo`` groups, which put domains
together (the catalogue's reference files come from accounts and delivery), and registers them all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app import demo
from app.accounts import offices
from app.accounts.cli import staff_cli
from app.api.cli import verify
from app.audit.cli import audit_cli
from app.catalogue.service import built_in_catalogue_dir, published_forms, sync_catalogue, validate_file
from app.db import intending_to_write
from app.delivery import destinations
from app.documents.cli import blobs_cli
from app.errors import ValidationFailed
from app.extensions import db
from app.jobs.cli import worker_command
from app.seals.cli import seals_cli
from app.submissions.cli import submissions_cli
from app.workflow.cli import documents_cli, fax_cli

catalogue_cli = AppGroup("catalogue", help="Form definitions: load, list, check.")
demo_cli = AppGroup("demo", help="Demonstration data.")


def catalogue_references() -> tuple:
    """The catalogue's reference files, in the order they load: offices, then destinations (forms name both)."""
    return (offices, destinations)


def catalogue_dirs(directory: str | None, *, built_in: bool | None = None) -> list[Path]:
    """The folders ``catalogue sync`` loads, in order.

    The built-in folder is demo data (fictitious offices, destinations with a loopback webhook and fax
    numbers, the demo forms): development loads it, and so does ``flask demo seed``; production loads
    only MADOGUCHI_CATALOGUE_PATH and the folder named on the command line.
    """
    if built_in is None:
        built_in = current_app.config["MADOGUCHI_ENV"] == "development"
    dirs = [built_in_catalogue_dir()] if built_in else []
    extra = current_app.config["MADOGUCHI_CATALOGUE_PATH"]
    if extra:
        dirs.append(Path(extra))
    if directory:
        dirs.append(Path(directory))
    return dirs


@catalogue_cli.command("sync")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
def catalogue_sync(directory: str | None):
    """Load offices, destinations and form definitions (MADOGUCHI_CATALOGUE_PATH, then DIRECTORY; in
    development the built-in demo folder first)."""
    dirs = catalogue_dirs(directory)
    if not dirs:
        click.echo("error: nothing to load: set MADOGUCHI_CATALOGUE_PATH or name a folder "
                   "(the built-in folder is demo data, loaded only in development)", err=True)
        sys.exit(1)
    try:
        with intending_to_write():
            report = sync_catalogue(dirs, catalogue_references())
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
    for form in published_forms():
        click.echo(f"{form.slug}\t{form.version}\t{form.office.code}\t{form.title_ja}")


@catalogue_cli.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def catalogue_validate(path: str):
    """Check one definition file; print every problem with its place and exit 1 if there is any."""
    problems = validate_file(Path(path), catalogue_references())
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo(f"{path}: ok")


@demo_cli.command("seed")
def demo_seed():
    """Demo offices, forms, residents and submissions; runs the jobs it creates (development only)."""
    if current_app.config["MADOGUCHI_ENV"] != "development":
        click.echo("error: flask demo seed is refused in production: it creates accounts whose passwords and "
                   "TOTP secrets are published in the source (set MADOGUCHI_ENV=development for a demo)", err=True)
        sys.exit(1)
    with intending_to_write():
        for line in demo.seed(catalogue_dirs(None, built_in=True), catalogue_references()):
            click.echo(line)


def register_cli(app: Flask) -> None:
    seals_cli.add_command(verify)
    for group in (catalogue_cli, demo_cli, submissions_cli, staff_cli, audit_cli, seals_cli, documents_cli, fax_cli,
                  blobs_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
