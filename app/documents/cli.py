"""``flask blobs``: check the blob store and move it between backends (app/documents/blob_admin.py).

Each command prints what it did and exits 1 on a problem, naming the first, so operators can script
it (after every restore: ``flask audit verify --checkpoint …`` and ``flask blobs check``).
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.db import intending_to_write
from app.documents import blob_admin, blobs
from app.extensions import db

blobs_cli = AppGroup("blobs", help="The blob store: documents, uploads and page images by SHA-256.")


@blobs_cli.command("check")
@click.option("--backend", "backend_name", type=click.Choice(blobs.BACKENDS),
              help="The backend to check (default: MADOGUCHI_BLOB_STORE); the other is never consulted.")
def check(backend_name: str | None):
    """Every blob that a row names is in the store and matches its hash."""
    try:
        result = blob_admin.check(backend_name)
    finally:
        db.session.rollback()
    if result.problem:
        click.echo(result.problem)
        sys.exit(1)
    counts = ", ".join(f"{kind} {count}" for kind, count in result.counts.items())
    click.echo(f"ok: {sum(result.counts.values())} referenced blobs in the {result.backend} store match ({counts})")


@blobs_cli.command("migrate")
@click.option("--to", "target", required=True, type=click.Choice(blobs.BACKENDS), help="The backend to move to.")
@click.option("--delete-source", is_flag=True,
              help="Remove each copy from the other backend once the target has it (only when no node still "
                   "runs with the other setting).")
def migrate(target: str, delete_source: bool):
    """Copy every blob of the other backend into TARGET (safe while the service runs, and to repeat)."""
    with intending_to_write():
        result = blob_admin.migrate(target, delete_source=delete_source, progress=click.echo)
    if delete_source:
        click.echo(f"{result.deleted} source copies deleted")
    if result.problem:
        click.echo(f"NOT COPIED: {result.problem}")
        sys.exit(1)
