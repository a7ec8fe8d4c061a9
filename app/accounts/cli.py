"""``flask staff …``: staff accounts for operators and scripts; each command commits once."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.accounts import staff_service
from app.accounts.models import STAFF_ROLES
from app.db import intending_to_write
from app.errors import ValidationFailed
from app.extensions import db

staff_cli = AppGroup("staff", help="Staff accounts: create, list, deactivate.")


@staff_cli.command("create")
@click.option("--email", required=True, help="Sign-in address (stored lower-cased).")
@click.option("--name", "display_name", required=True, help="Display name, e.g. 鈴木 一郎.")
@click.option("--office", "office_code", required=True, help="Office code from offices.yaml, e.g. shimin.")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(STAFF_ROLES), help="Repeat for several."
)
@click.option("--password", help="Initial password; a strong one is generated when omitted.")
@click.option(
    "--enrolled", is_flag=True, help="Skip enrolment at first sign-in (the secret below is already in an app)."
)
def staff_create(email, display_name, office_code, roles, password, enrolled):
    """Create a staff account; prints its password and TOTP secret (add the secret to an authenticator app)."""
    try:
        with intending_to_write():
            staff, password, secret = staff_service.create_staff(
                email, display_name, office_code, list(roles), password, enrolled=enrolled
            )
            db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"email: {staff.email}")
    click.echo(f"name: {staff.display_name}")
    click.echo(f"office: {staff.office.code}")
    click.echo(f"roles: {','.join(staff.roles)}")
    click.echo(f"password: {password}")
    click.echo(f"totp_secret: {secret}")
    click.echo(f"totp_uri: {staff_service.totp_uri(staff)}")


@staff_cli.command("list")
def staff_list():
    """One line per staff member, no header: EMAIL<TAB>OFFICE<TAB>ROLES<TAB>active|inactive<TAB>NAME."""
    for staff in staff_service.list_staff():
        state = "active" if staff.is_active else "inactive"
        click.echo(f"{staff.email}\t{staff.office.code}\t{','.join(staff.roles)}\t{state}\t{staff.display_name}")


def _set_active(email: str, active: bool) -> None:
    with intending_to_write():
        staff = staff_service.find_staff(email)
        if staff is None:
            click.echo(f"error: no staff account for {email}", err=True)
            sys.exit(1)
        if active:
            staff_service.reactivate(staff)
        else:
            staff_service.deactivate(staff)
        db.session.commit()
    click.echo(f"{staff.email}\t{'active' if active else 'inactive'}")


@staff_cli.command("deactivate")
@click.argument("email")
def staff_deactivate(email):
    """Stop an account; its sessions end on their next request."""
    _set_active(email, False)


@staff_cli.command("reactivate")
@click.argument("email")
def staff_reactivate(email):
    """Allow a stopped account to sign in again."""
    _set_active(email, True)
