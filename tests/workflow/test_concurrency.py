"""Two staff approving the same step at the same moment: exactly one wins, nothing is half-written.

Real concurrent transactions: two threads, each with its own application context and so its own
database connection, released together by a barrier.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from app.db import intending_to_write
from app.extensions import db as _db
from app.submissions.models import SubmissionHistory
from app.workflow import service as workflow
from app.workflow.models import Approval


def test_two_concurrent_approvals_of_one_step_yield_one(app, db, new_case, staff, run_worker):
    submission = new_case("juminhyo", "in_review")
    submission_id = submission.id
    contenders = [staff["clerk"].id, staff["clerk2"].id]
    barrier = threading.Barrier(len(contenders))
    outcomes: dict[int, str] = {}

    def approve_as(staff_id: int) -> None:
        with app.app_context(), intending_to_write():
            from app.accounts.models import Staff

            member = _db.session.get(Staff, staff_id)
            _db.session.commit()  # start the race from a clean transaction
            barrier.wait()
            try:
                workflow.approve(submission_id, member)
                _db.session.commit()
                outcomes[staff_id] = "won"
            except workflow.Conflict:
                _db.session.rollback()
                outcomes[staff_id] = "conflict"
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=approve_as, args=(staff_id,)) for staff_id in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["conflict", "won"]
    db.session.rollback()  # end the test's own transaction: a SQLite reader keeps its old snapshot
    decided = db.session.scalars(
        sa.select(Approval).where(Approval.submission_id == submission_id, Approval.step_key == "uketsuke")
    ).all()
    assert len(decided) == 1 and decided[0].decided_by_id in contenders
    approvals_in_history = db.session.scalar(
        sa.select(sa.func.count()).select_from(SubmissionHistory)
        .where(SubmissionHistory.submission_id == submission_id, SubmissionHistory.action == "approve")
    )
    assert approvals_in_history == 1
    # Once the worker has sealed it, the route moved on exactly once: one open task at the next step.
    run_worker()
    nxt = db.session.scalars(sa.select(Approval).where(Approval.submission_id == submission_id,
                                                       Approval.step_key == "kessai")).all()
    assert len(nxt) == 1 and nxt[0].state == "pending"
