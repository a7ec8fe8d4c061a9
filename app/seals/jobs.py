"""Seal jobs run by the worker (which alone holds the CA and seal keys)."""

from __future__ import annotations

from flask import current_app

from app.accounts.models import Staff
from app.extensions import db
from app.jobs.worker import WorkSource, register_handler, register_source
from app.seals import service

#: Queued when a staff account is created (``app.workflow.signals``).
ISSUE_CERTIFICATE_JOB = "seals.issue_staff_certificate"


def run_issue_staff_certificate(payload: dict) -> None:
    """A new staff account's certificate and imprint; nothing to do before `flask seals init` (it issues them)."""
    staff = db.session.get(Staff, payload["staff_id"])
    if staff is None or not staff.is_active or not service.has_pki():
        return
    if service.current_staff_certificate_or_none(staff) is None:
        service.issue_staff_certificate(staff)


def crl_refresh_due() -> bool:
    """A read that ends its transaction (the worker's wake-up asks it between commits)."""
    try:
        return service.crl_refresh_due()
    finally:
        db.session.rollback()


def refresh_crl(_worker_id: str, _limit: int | None) -> int:
    """Publish the issuing CA's CRL again before it ends (it lasts a week): a validator in hard-fail mode
    trusts no seal whose issuer's CRL has run out."""
    if not current_app.config.get("MADOGUCHI_KEY_PASSPHRASE") or not service.crl_refresh_due():
        db.session.rollback()
        return 0
    service.publish_crl()
    db.session.commit()
    return 1


def register() -> None:
    register_handler(ISSUE_CERTIFICATE_JOB, run_issue_staff_certificate)
    register_source(WorkSource("seals.crl", run=refresh_crl, due=crl_refresh_due))
