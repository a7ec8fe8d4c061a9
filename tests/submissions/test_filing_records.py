"""What one filing writes besides the state change: history, the enter-route and mail jobs and their keys.

The submit path writes these with plain INSERTs and counts instead of loading the case's history
(app/submissions/service.py ``_file``, for speed); the keys must stay what they were, since a key
already in the jobs table is how a retried filing is recognised.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.jobs.models import Job
from app.submissions import service as submissions
from app.submissions.models import Submission
from app.workflow import service as workflow


def keys_for(db, submission_id: int) -> set[str]:
    keys = db.session.scalars(sa.select(Job.idempotency_key)).all()
    return {key for key in keys if f":{submission_id}:" in key}


def test_a_submit_writes_history_and_both_jobs_and_updates_the_object(db, new_case):
    draft = new_case("juminhyo", "draft")
    assert submissions.submit(draft) is True
    # The object already shows the stored row, without reading it back.
    assert draft.state == "submitted" and draft.receipt_number and draft.submitted_at is not None
    assert draft.applicant_name
    db.session.commit()
    stored = db.session.get(Submission, draft.id)
    assert [(h.action, h.from_state, h.to_state, h.actor_type) for h in stored.history] == [
        ("submit", "draft", "submitted", "resident")]
    assert keys_for(db, draft.id) == {f"enter_route:{draft.id}:1", f"submission_received:{draft.id}:submitted:1"}


def test_a_submit_that_lost_the_race_writes_nothing_and_shows_the_stored_row(db, new_case):
    draft = new_case("juminhyo", "draft")
    # Another request filed it meanwhile; this one still holds the object as a draft.
    db.session.execute(sa.update(Submission).where(Submission.id == draft.id)
                       .values(state="submitted", receipt_number="2345-6789")
                       .execution_options(synchronize_session=False))
    assert draft.state == "draft"
    assert submissions.submit(draft) is False
    assert draft.state == "submitted" and draft.receipt_number == "2345-6789"
    db.session.commit()
    assert db.session.get(Submission, draft.id).history == []
    assert keys_for(db, draft.id) == set()


def test_a_resubmission_counts_the_history_so_far(db, new_case, staff):
    case = new_case("juminhyo", "in_review")
    workflow.return_for_correction(case.id, staff["clerk"], "住所を確認してください。")
    db.session.commit()
    before = len(db.session.get(Submission, case.id).history)
    case = db.session.get(Submission, case.id)
    assert submissions.resubmit(case) is True
    db.session.commit()
    after = db.session.get(Submission, case.id)
    assert after.state == "submitted"
    assert len(after.history) == before + 1 and after.history[-1].action == "resubmit"
    keys = keys_for(db, case.id)
    assert f"enter_route:{case.id}:{before + 1}" in keys
    assert f"resubmission_received:{case.id}:submitted:{before + 1}" in keys
