"""``flask seals …``: the seal PKI (runs with the keys: an operator's command, not the web).

``flask seals verify`` is the public edge's (``app.api.cli``), added to this group by ``app.cli``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.accounts.models import Staff
from app.db import intending_to_write
from app.errors import DomainError
from app.extensions import db
from app.seals import pki, service

seals_cli = AppGroup("seals", help="The seal PKI: create, rotate, revoke; verify a document.")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@seals_cli.command("init")
def init():
    """Create the local PKI (root → issuing CA → organisation seal) and staff certificates."""
    with intending_to_write():
        for line in service.init_pki():
            click.echo(line)
        db.session.commit()


@seals_cli.command("root")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the root (PEM).")
def root(out: str):
    """Write the root certificate that receiving offices install as their trust anchor."""
    try:
        pem = pki.cert_pem(service.root_certificate())
    except DomainError as exc:
        _fail(exc.message)
    Path(out).write_bytes(pem)
    click.echo(f"root certificate written to {out} (SHA-256 {pki.fingerprint(service.root_certificate())})")


@seals_cli.command("rotate")
@click.option("--staff", "email", help="A staff member's e-mail; without it the organisation seal is rotated.")
def rotate(email: str | None):
    """Issue a new key and certificate; documents sealed with the old one stay verifiable."""
    with intending_to_write():
        staff = None
        if email:
            staff = db.session.scalar(sa.select(Staff).where(Staff.email == email.lower()))
            if staff is None:
                _fail(f"no staff member {email}")
        try:
            row = service.rotate(staff=staff)
        except DomainError as exc:
            _fail(exc.message)
        db.session.commit()
    click.echo(f"new certificate {row.fingerprint} for {row.subject}")


@seals_cli.command("revoke")
@click.argument("who")
@click.option("--reason", default="unspecified", show_default=True, type=click.Choice(sorted(service.REASONS)))
def revoke(who: str, reason: str):
    """Revoke a certificate (WHO = its SHA-256 fingerprint) or a staff member's (WHO = e-mail); publish the CRL."""
    with intending_to_write():
        try:
            rows = service.revoke(who, reason)
        except DomainError as exc:
            _fail(exc.message)
        db.session.commit()
    for row in rows:
        click.echo(f"revoked {row.fingerprint} ({row.subject}): {reason}")
