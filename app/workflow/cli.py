"""``flask documents export`` and ``flask fax render``: a case's sealed document, as it is and as a fax.

They live with the orchestrator because they compose a case (submissions), its document (documents)
and the registered destinations (delivery).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.catalogue.definition import destination_entries
from app.delivery.destinations import find as find_destination
from app.delivery.models import Destination
from app.documents import fax
from app.documents import service as documents
from app.documents.models import Document
from app.errors import DomainError, NotFound
from app.extensions import db
from app.submissions.models import Submission
from app.workflow.rendering import latest_sealed_bytes
from app.workflow.service import ORG_SEAL

documents_cli = AppGroup("documents", help="Rendered and sealed documents.")
fax_cli = AppGroup("fax", help="Fax output (TIFF Class F) of approved documents.")


class NotSealed(DomainError):
    code = "not_sealed"
    status = 409


@documents_cli.command("export")
@click.argument("receipt")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
def export(receipt: str, out: str):
    """Write the latest revision of a submission's current approval document."""
    try:
        data = latest_sealed_bytes(receipt)
    except NotFound as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    Path(out).write_bytes(data)
    click.echo(f"{out}: {len(data)} bytes")


def sealed_document(submission: Submission) -> Document:
    """The current approval document, if its latest revision carries the organisation seal."""
    document = documents.current_document(submission.id)
    if document is None or document.latest is None:
        raise NotFound(f"no approval document for {submission.receipt_number}")
    if document.latest.reason != ORG_SEAL:
        raise NotSealed(f"the document of {submission.receipt_number} is not sealed yet (not approved)")
    return document


def default_destination(submission: Submission) -> Destination | None:
    """The form's first registered destination that has a fax number, else its first one."""
    found = [d for d in (find_destination(entry["code"])
                         for entry in destination_entries(submission.form_version.definition)) if d is not None]
    return next((d for d in found if d.fax_number), found[0] if found else None)


def case_fax(submission: Submission, destination: Destination | None, *, resolution: str = "fine",
             compression: str = "g4", attempt: int = 1) -> bytes:
    """The cover sheet to ``destination`` (default: the form's) and the sealed document, as TIFF Class F.

    Raises ``NotFound`` (no document) or ``NotSealed`` (not approved yet).
    """
    from app.documents.fax_cover import FaxCover, render_fax  # WeasyPrint: the CLI, not the web

    document = sealed_document(submission)
    destination = destination if destination is not None else default_destination(submission)
    config = current_app.config
    cover = FaxCover(
        to_name=destination.name_ja if destination else "",
        to_fax=(destination.fax_number or "") if destination else "",
        municipality=config["MADOGUCHI_MUNICIPALITY"], office_name=submission.form_version.office.name_ja,
        form_title=submission.form_version.title_ja, receipt_number=submission.receipt_number,
        verification_code=document.verification_code,
        verify_url=f"{config['MADOGUCHI_BASE_URL']}/verify/{document.verification_code}", attempt=attempt,
    )
    return render_fax(documents.read_bytes(document.latest.sha256), cover, resolution=resolution,
                      compression=compression)


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
        data = case_fax(submission, destination, resolution=resolution, compression=compression, attempt=attempt)
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
