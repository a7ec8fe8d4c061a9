"""``flask documents …``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.errors import NotFound

documents_cli = AppGroup("documents", help="Rendered and sealed documents.")


@documents_cli.command("export")
@click.argument("receipt")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
def export(receipt: str, out: str):
    """Write the latest revision of a submission's current approval document."""
    from app.documents.service import latest_sealed_bytes

    try:
        data = latest_sealed_bytes(receipt)
    except NotFound as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    Path(out).write_bytes(data)
    click.echo(f"{out}: {len(data)} bytes")
