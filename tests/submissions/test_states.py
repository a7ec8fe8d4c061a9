"""Every (state, action) pair: allowed pairs move the state and record history and audit; the others
raise InvalidTransition and change nothing."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.errors import InvalidTransition
from app.submissions import service as submissions
from app.submissions.models import Submission
from app.submissions.states import TRANSITIONS, Action, State, next_state
from app.workflow import service as workflow

PAIRS = list(itertools.product(State, Action))


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_the_table(state, action):
    if (state, action) in TRANSITIONS:
        assert next_state(state, action) == TRANSITIONS[(state, action)]
    else:
        with pytest.raises(InvalidTransition):
            next_state(state, action)


def _bring_to(new_case, staff, db, approve, state: State) -> Submission:
    """A 住民票 case in ``state``, reached through the real services; for approve, at its last step."""
    build_state = {"draft": "draft", "submitted": "submitted"}.get(state.value, "in_review")
    submission = new_case("juminhyo", build_state)
    if state == State.IN_REVIEW:
        approve(submission.id, staff["clerk"])  # 受付 sealed: the next approval is the last step's
    elif state == State.RETURNED:
        workflow.return_for_correction(submission.id, staff["clerk"], "住所の番地を確認してください。")
    elif state == State.REJECTED:
        workflow.reject(submission.id, staff["clerk"], "対象外の申請です。")
    elif state == State.APPROVED:
        approve(submission.id, staff["clerk"])
        approve(submission.id, staff["approver"])
    elif state == State.WITHDRAWN:
        submissions.withdraw(submission)
    db.session.commit()
    db.session.refresh(submission)
    assert submission.state == state
    return submission


def _perform(action: Action, submission: Submission, staff, approve):
    match action:
        case Action.SUBMIT:
            return submissions.submit(submission)
        case Action.RESUBMIT:
            return submissions.resubmit(submission)
        case Action.WITHDRAW:
            return submissions.withdraw(submission)
        case Action.ENTER_ROUTE:
            return workflow.enter_route(submission.id)
        case Action.APPROVE:
            return approve(submission.id, staff["approver"])  # the last step: sealed, then the organisation seal
        case Action.RETURN:
            return workflow.return_for_correction(submission.id, staff["approver"], "添付を確認してください。")
        case Action.REJECT:
            return workflow.reject(submission.id, staff["approver"], "要件を満たしていません。")


def _counts(db, submission_id):
    db.session.expire_all()
    submission = db.session.get(Submission, submission_id)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    return submission.state, len(submission.history), audits


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_every_pair_through_the_services(db, new_case, staff, approve, state, action):
    submission = _bring_to(new_case, staff, db, approve, state)
    before = _counts(db, submission.id)
    if (state, action) in TRANSITIONS:
        _perform(action, submission, staff, approve)
        db.session.commit()
        new_state, history, audits = _counts(db, submission.id)
        assert new_state == TRANSITIONS[(state, action)]
        assert history > before[1]
        assert db.session.get(Submission, submission.id).history[-1].action == action.value
        assert audits > before[2]
    else:
        with pytest.raises(InvalidTransition):
            _perform(action, submission, staff, approve)
        db.session.rollback()
        assert _counts(db, submission.id) == before
