"""Seal jobs run by the worker (which alone holds the CA and seal keys)."""

from __future__ import annotations

from app.accounts.models import Staff
from app.extensions import db
from app.jobs.worker import register_handler
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


def register() -> None:
    register_handler(ISSUE_CERTIFICATE_JOB, run_issue_staff_certificate)
