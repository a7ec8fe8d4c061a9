"""The workflow's answers to what other domains tell (``app.submissions.signals``, ``app.accounts.signals``).

Connected once per process by ``create_app`` (connecting the same receiver again is a no-op); each
receiver runs in the sender's transaction and only flushes.
"""

from __future__ import annotations

from app.accounts.signals import staff_created
from app.jobs.queue import enqueue
from app.seals.jobs import ISSUE_CERTIFICATE_JOB
from app.submissions.signals import submission_withdrawn
from app.workflow.service import supersede_open_approvals


def on_submission_withdrawn(submission, **_extra) -> None:
    """A withdrawn case's open tasks end with it: they leave the office queues."""
    supersede_open_approvals(submission.id)


def on_staff_created(staff, **_extra) -> None:
    """The seal certificate of a new staff member is issued by the worker: the web process that created
    the account holds no CA key."""
    enqueue(ISSUE_CERTIFICATE_JOB, {"staff_id": staff.id}, idempotency_key=f"staff-certificate:{staff.id}")


def connect() -> None:
    submission_withdrawn.connect(on_submission_withdrawn)
    staff_created.connect(on_staff_created)
