"""``flask documents …``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.errors import DomainError, NotFound

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


fax_cli = AppGroup("fax", help="Fax output (TIFF Class F) of approved documents.")


@fax_cli.command("render")
@click.argument("receipt")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for RECEIPT.tif.")
@click.option("--resolution", type=click.Choice(["fine", "standard"]), default="fine", show_default=True)
@click.option("--compression", type=click.Choice(["g3", "g4"]), default="g4", show_default=True)
@click.option("--to", "to_code", help="Registered destination code (default: the form's destination).")
@click.option("--attempt", type=click.IntRange(min=1), default=1, show_default=True,
              help="Attempt number; above 1 the cover says 再送.")
def fax_render(receipt: str, out_dir: str, resolution: str, compression: str, to_code: str | None, attempt: int):
    """Write DIR/RECEIPT.tif: the FAX送付状 and the sealed approval document, as TIFF Class F."""
    import sqlalchemy as sa

    from app.documents import fax
    from app.documents.faxing import find_destination, render_fax
    from app.extensions import db
    from app.submissions.models import Submission

    submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
    if submission is None:
        click.echo(f"error: no submission with receipt number {receipt}", err=True)
        sys.exit(1)
    destination = None
    if to_code:
        destination = find_destination(to_code)
        if destination is None:
            click.echo(f"error: {to_code} is not a registered destination", err=True)
            sys.exit(1)
    try:
        data = render_fax(submission, destination, resolution=resolution, compression=compression, attempt=attempt)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{receipt}.tif"
    path.write_bytes(data)
    pages = fax.read_tiff(data)
    tags = pages[0][1]
    click.echo(str(path))
    click.echo(f"pages: {len(pages)} (cover + {len(pages) - 1}), {len(data)} bytes")
    click.echo(
        f"tags: width={tags[256]} compression={tags[259]} ({'G3 MH 1-D' if tags[259] == 3 else 'G4'}) "
        f"photometric={tags[262]} (WhiteIsZero) bits={tags[258][0] if isinstance(tags[258], tuple) else tags[258]} "
        f"resolution={float(tags[282]):g}x{float(tags[283]):g} dpi fill_order={tags.get(266, 1)}"
    )
