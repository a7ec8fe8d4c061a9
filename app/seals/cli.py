"""``flask seals …``: the seal PKI (runs with the keys: an operator's command, not the web).

The root CA's key lives offline: ``init --root-key-out FILE`` writes it, ``root-sign --root-key FILE``
uses it (a new root CRL, a new issuing CA). Every command of the group first warns when the root CRL
ends within 30 days. ``flask seals verify`` is the public edge's (``app.api.cli``), added by ``app.cli``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.accounts.models import Staff
from app.db import intending_to_write
from app.errors import DomainError
from app.extensions import db
from app.seals import pki, service


@with_appcontext
def _warn_about_the_root():
    """Runs before every `flask seals` command."""
    try:
        warning = service.root_crl_warning()
        in_database = service.root_key_in_database()
    except Exception:  # noqa: BLE001 - no database yet (before `flask db upgrade`): nothing to warn about
        db.session.rollback()
        return
    finally:
        db.session.rollback()
    if warning:
        click.echo(f"warning: {warning}", err=True)
    if in_database:
        click.echo("warning: the root CA key is still in the database (an earlier version kept it there): "
                   "move it offline with `flask seals root-offline --root-key-out FILE`", err=True)


seals_cli = AppGroup("seals", help="The seal PKI: create, rotate, revoke; verify a document.",
                     callback=_warn_about_the_root)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _root_passphrase(*, new: bool) -> str | None:
    """Asked at the terminal in production (never an option: it would stay in the shell history);
    development uses the development passphrase."""
    if current_app.config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
        return None
    return click.prompt("root key passphrase", hide_input=True, confirmation_prompt=new, err=True)


_ROOT_KEY_OUT = click.option(
    "--root-key-out", type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the root CA key, encrypted, for offline keeping (required in production).")


@seals_cli.command("init")
@_ROOT_KEY_OUT
def init(root_key_out: Path | None):
    """Create the local PKI (root → issuing CA → organisation seal) and staff certificates; the root's
    key goes to --root-key-out (encrypted under a passphrase asked for here), never into the database."""
    with intending_to_write():
        if service.has_pki():
            click.echo("seal PKI already present")
            return
        if root_key_out is None and not current_app.config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
            _fail("production keeps the root CA key offline: name the file with --root-key-out")
        try:
            lines = service.init_pki(root_key_out=root_key_out, root_passphrase=_root_passphrase(new=True))
        except DomainError as exc:
            db.session.rollback()
            _fail(exc.message)
        db.session.commit()
    for line in lines:
        click.echo(line)


@seals_cli.command("root-sign")
@click.option("--root-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The offline root CA key file (development: the instance folder's).")
@click.option("--crl", "sign_crl", is_flag=True,
              help=f"Publish a new root CRL, valid {service.ROOT_CRL_VALIDITY.days} days.")
@click.option("--issuing-ca", "new_issuing", is_flag=True, help="Issue a new issuing CA (the old one stays valid).")
def root_sign(root_key: Path | None, sign_crl: bool, new_issuing: bool):
    """The operator's step with the offline root key: a new root CRL and/or a new issuing CA."""
    if not (sign_crl or new_issuing):
        _fail("say what to sign: --crl, --issuing-ca, or both")
    if root_key is None and not current_app.config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
        _fail("name the offline root key file with --root-key")
    with intending_to_write():
        try:
            root = service.load_root(root_key, _root_passphrase(new=False))
            if new_issuing:
                row = service.new_issuing_ca(root)
                click.echo(f"new issuing CA {row.fingerprint}")
            if sign_crl or new_issuing:
                publication = service.publish_root_crl(root)
                click.echo(f"root CRL {publication.number} published, valid until {publication.next_update:%Y-%m-%d}")
        except DomainError as exc:
            db.session.rollback()
            _fail(exc.message)
        db.session.commit()


@seals_cli.command("root-offline")
@_ROOT_KEY_OUT
def root_offline(root_key_out: Path | None):
    """Move a root key that an earlier version kept in the database to an offline file, and delete it there."""
    if root_key_out is None and not current_app.config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
        _fail("name the file for the root CA key with --root-key-out")
    with intending_to_write():
        try:
            path = service.take_root_offline(root_key_out, _root_passphrase(new=True))
        except DomainError as exc:
            db.session.rollback()
            _fail(exc.message)
        db.session.commit()
    click.echo(f"root CA key written to {path} and deleted from the database: keep the file offline")


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
