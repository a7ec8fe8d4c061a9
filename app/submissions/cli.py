"""``flask submissions list``: submissions for operators and scripts."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.catalogue.models import FormVersion
from app.extensions import db
from app.submissions.models import Submission

submissions_cli = AppGroup("submissions", help="Submissions, for operators and scripts.")


@submissions_cli.command("list")
@click.option("--state", help="Machine state name, e.g. submitted.")
@click.option("--form", "form_slug", help="Form slug.")
def submissions_list(state: str | None, form_slug: str | None):
    """One line per submission, no header: RECEIPT<TAB>FORM_SLUG<TAB>STATE."""
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
