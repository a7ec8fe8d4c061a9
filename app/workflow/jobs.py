"""Workflow jobs run by the worker: entering the route (after rendering the document) and the seals.

Handlers flush; the worker commits each job (``app.jobs.worker``).
"""

from __future__ import annotations

from app.documents import service as documents
from app.documents.errors import RenderFailed
from app.errors import InvalidTransition
from app.extensions import db
from app.jobs.queue import PermanentJobFailure
from app.jobs.worker import register_handler
from app.submissions.models import Submission
from app.submissions.service import ENTER_ROUTE_JOB
from app.submissions.states import State
from app.workflow import rendering, sealing, service
from app.workflow.service import NOTICE_JOB, ORG_SEAL_JOB, SEAL_STEP_JOB


def run_enter_route(payload: dict) -> None:
    """Render the round's documents, then move the case into review at step 1, in the job's transaction."""
    submission = db.session.get(Submission, payload["submission_id"])
    if submission is None or submission.state != State.SUBMITTED:
        return  # withdrawn before the worker got to it, or a retried job that already ran
    try:
        service.prepare_route(submission)
        rendering.render_documents(submission, documents.render_pool())
    except RenderFailed as exc:
        submission_id, round_, reason = submission.id, submission.round, str(exc)

        def show_staff() -> None:
            documents.record_render_failure(submission_id, round_, reason)

        # A render that hit a limit will hit it again: staff see the failure on the case page.
        raise PermanentJobFailure(f"render failed: {exc}", after_rollback=show_staff) from exc
    try:
        service.enter_route(submission.id)
    except InvalidTransition:
        db.session.rollback()  # someone withdrew it meanwhile: nothing of this job stays


def run_seal_step(payload: dict) -> None:
    sealing.apply_step_seal(payload["approval_id"])


def run_org_seal(payload: dict) -> None:
    sealing.apply_org_seal(payload["submission_id"])


def run_notice(payload: dict) -> None:
    """The decided case's 審査結果のお知らせ for the resident."""
    submission = db.session.get(Submission, payload["submission_id"])
    if submission is not None:
        rendering.render_notice(submission, documents.render_pool())


def register() -> None:
    register_handler(ENTER_ROUTE_JOB, run_enter_route)
    register_handler(SEAL_STEP_JOB, run_seal_step)
    register_handler(ORG_SEAL_JOB, run_org_seal)
    register_handler(NOTICE_JOB, run_notice)
