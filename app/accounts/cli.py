"""``flask staff …``: staff accounts for operators and scripts; each command commits once."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.accounts import staff_service
from app.accounts.models import STAFF_ROLES
from app.db import intending_to_write
from app.errors import DomainError, ValidationFailed
from app.extensions import db

staff_cli = AppGroup("staff", help="Staff accounts: create, list, designate, deactivate.")


def _development() -> bool:
    return current_app.config["MADOGUCHI_ENV"] == "development"


@staff_cli.command("create")
@click.option("--email", required=True, help="Sign-in address (stored lower-cased).")
@click.option("--name", "display_name", required=True, help="Display name, e.g. 鈴木 一郎.")
@click.option("--office", "office_code", required=True, help="Office code from offices.yaml, e.g. shimin.")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(STAFF_ROLES), help="Repeat for several."
)
@click.option("--password", help="DEVELOPMENT ONLY: an initial password (production: the enrolment link).")
@click.option("--enrolled", is_flag=True, help="DEVELOPMENT ONLY: skip the authenticator's enrolment (prints "
                                               "the TOTP secret).")
def staff_create(email, display_name, office_code, roles, password, enrolled):
    """Create a staff account and mail them a single-use enrolment link (printed in development only),
    with which they set their password and authenticator. Approver and admin wait for a second
    administrator's confirmation, except the first administrator of an installation."""
    if (password or enrolled) and not _development():
        click.echo("error: --password and --enrolled are refused in production: nobody but the member may know "
                   "their password or TOTP secret; they set both with the enrolment link", err=True)
        sys.exit(1)
    try:
        with intending_to_write():
            # The first administrator has nobody to confirm them: the operator's command is the bootstrap.
            bootstrap = "admin" in roles and not staff_service.has_active_administrator()
            staff, password, secret = staff_service.create_staff(
                email, display_name, office_code, list(roles), password, enrolled=enrolled,
                grant_privileged=bootstrap,
            )
            link = staff_service.send_enrolment_link(staff) if password is None else None
            db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"email: {staff.email}")
    click.echo(f"name: {staff.display_name}")
    click.echo(f"office: {staff.office.code}")
    click.echo(f"roles: {','.join(staff.roles)}")
    if staff.pending_roles:
        click.echo(f"pending roles: {','.join(staff.pending_roles)} (an administrator confirms them at "
                   "/office/admin/staff)")
    if link is not None:
        click.echo(f"enrolment link sent to {staff.email}")
    if _development():
        if link is not None:
            click.echo(f"enrolment link (development only): {link}")
        else:
            click.echo(f"password (development only): {password}")
        if enrolled:
            click.echo(f"totp_secret (development only): {secret}")
            click.echo(f"totp_uri (development only): {staff_service.totp_uri(staff)}")


@staff_cli.command("designate")
@click.argument("email")
@click.option("--mynumber-handler", "handler", required=True, type=click.Choice(["on", "off"]),
              help="個人番号事務取扱担当者: may reveal My Number at their office's current step.")
def staff_designate(email, handler):
    """Designate a member as a My Number handler, or stop (audited)."""
    with intending_to_write():
        staff = staff_service.find_staff(email)
        if staff is None:
            click.echo(f"error: no staff account for {email}", err=True)
            sys.exit(1)
        try:
            staff_service.designate_mynumber_handler(staff, handler == "on", actor=None)
        except DomainError as exc:
            db.session.rollback()
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        db.session.commit()
    click.echo(f"{staff.email}\tmynumber_handler={handler}")


@staff_cli.command("list")
def staff_list():
    """One line per staff member, no header: EMAIL<TAB>OFFICE<TAB>ROLES<TAB>active|inactive<TAB>NAME.

    Roles waiting for confirmation carry a ``?`` (``approver?``); a My Number handler has ``mynumber``."""
    for staff in staff_service.list_staff():
        state = "active" if staff.is_active else "inactive"
        roles = [*staff.roles, *(f"{r}?" for r in staff.pending_roles or ()), *(["mynumber"] * staff.mynumber_handler)]
        click.echo(f"{staff.email}\t{staff.office.code}\t{','.join(roles)}\t{state}\t{staff.display_name}")


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
