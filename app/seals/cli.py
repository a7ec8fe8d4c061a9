"""``flask seals …``: the seal PKI and verification (runs with the keys: an operator's command, not the web)."""

from __future__ import annotations

import json
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


@seals_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary of /api/v1/verify.")
def verify(path: str, as_json: bool):
    """Verify a PDF offline against the service's root and CRL; exit 0 when genuine, 1 when not."""
    from app.seals.verification import verify_bytes

    result = verify_bytes(Path(path).read_bytes())
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo("GENUINE" if result["genuine"] else "NOT GENUINE")
        document = result["document"]
        if document:
            click.echo(f"document: {document['form']} receipt {document['receipt_number']} "
                       f"code {document['verification_code']}{' (final)' if document.get('final') else ''}")
        for seal in result["seals"]:
            mark = "ok " if seal["ok"] else "BAD"
            signer = seal["signer"].get("CN", "")
            click.echo(f"  {mark} {seal['field']}: {signer} at {seal['signed_at']}"
                       f"{' (trusted time)' if seal['signing_time_trusted'] else ''} "
                       f"certificate {seal['certificate_status']}")
        for problem in result["problems"]:
            click.echo(f"  problem: {problem}")
    sys.exit(0 if result["genuine"] else 1)
