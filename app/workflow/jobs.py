"""Workflow jobs run by the worker: entering the route (after rendering the document) and seals."""

from __future__ import annotations

from app.delivery.jobs import PermanentJobFailure
from app.delivery.worker import register_handler
from app.errors import InvalidTransition
from app.extensions import db
from app.submissions.models import Submission
from app.submissions.service import ENTER_ROUTE_JOB
from app.workflow import service
from app.workflow.service import ORG_SEAL_JOB, SEAL_STEP_JOB


def run_enter_route(payload: dict) -> None:
    """Render the round's documents, then move the case into review at step 1, in one transaction."""
    from app.documents import service as documents
    from app.documents.pdf import RenderFailed

    submission = db.session.get(Submission, payload["submission_id"])
    if submission is None or submission.state != "submitted":
        return  # withdrawn before the worker got to it, or a retried job that already ran
    try:
        service.prepare_route(submission)
        documents.render_documents(submission, documents.render_pool())
    except RenderFailed as exc:
        db.session.rollback()
        submission = db.session.get(Submission, payload["submission_id"])
        documents.record_render_failure(submission, str(exc))
        db.session.commit()
        # A render that hit a limit will hit it again: staff see the failure on the case page.
        raise PermanentJobFailure(f"render failed: {exc}") from exc
    try:
        service.enter_route(submission.id)
    except InvalidTransition:
        db.session.rollback()
        return
    db.session.commit()


def run_seal_step(payload: dict) -> None:
    from app.seals.apply import apply_step_seal

    apply_step_seal(payload["approval_id"])
    db.session.commit()


def run_org_seal(payload: dict) -> None:
    from app.seals.apply import apply_org_seal

    apply_org_seal(payload["submission_id"])
    db.session.commit()


def register() -> None:
    register_handler(ENTER_ROUTE_JOB, run_enter_route)
    register_handler(SEAL_STEP_JOB, run_seal_step)
    register_handler(ORG_SEAL_JOB, run_org_seal)
