"""Workflow jobs run by the worker."""

from __future__ import annotations

from app.delivery.worker import register_handler
from app.errors import InvalidTransition
from app.extensions import db
from app.submissions.service import ENTER_ROUTE_JOB
from app.workflow import service


def run_enter_route(payload: dict) -> None:
    try:
        service.enter_route(payload["submission_id"])
    except InvalidTransition:
        # Withdrawn before the worker got to it, or a retried job that already ran: nothing to do.
        db.session.rollback()
        return
    db.session.commit()


def register() -> None:
    register_handler(ENTER_ROUTE_JOB, run_enter_route)
