"""Routes as data: steps in order, 合議 in parallel, four-eyes, a route pinned at the first review."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.errors import NotPermitted
from app.workflow import service as workflow
from app.workflow.models import Approval


def _state(db, submission):
    db.session.expire_all()
    return db.session.get(type(submission), submission.id)


def test_the_route_runs_step_by_step(db, new_case, staff, approve, run_worker):
    submission = new_case("juminhyo", "in_review")
    assert [a.step_key for a in workflow.current_approvals(submission)] == ["uketsuke"]
    approve(submission.id, staff["clerk"])
    db.session.commit()
    assert [a.step_key for a in workflow.current_approvals(_state(db, submission))] == ["kessai"]
    # A clerk cannot take the approver's step.
    with pytest.raises(NotPermitted):
        workflow.approve(submission.id, staff["clerk2"])
    db.session.rollback()
    approve(submission.id, staff["approver"])
    db.session.commit()
    assert _state(db, submission).state == "approved"


def test_a_consultation_step_needs_every_listed_office_once(db, new_case, staff, approve):
    submission = new_case("tenkyo", "in_review")
    route = [step["step"] for step in submission.route]
    assert route == ["uketsuke", "shinsa", "gougi", "kessai"]
    approve(submission.id, staff["clerk"])
    approve(submission.id, staff["clerk2"])
    db.session.commit()
    gougi = workflow.current_approvals(_state(db, submission))
    assert sorted(a.office.code for a in gougi) == ["fukushi", "zeimu"]
    approve(submission.id, staff["zeimu"])
    db.session.commit()
    # 税務課 agreed; the route waits for 福祉課.
    assert _state(db, submission).current_step == 2
    with pytest.raises(NotPermitted):
        workflow.approve(submission.id, staff["zeimu"])
    db.session.rollback()
    approve(submission.id, staff["fukushi"])
    db.session.commit()
    assert _state(db, submission).route[_state(db, submission).current_step]["step"] == "kessai"
    approve(submission.id, staff["approver"])
    db.session.commit()
    assert _state(db, submission).state == "approved"


def test_one_person_cannot_approve_two_steps(db, new_case, staff, approve):
    submission = new_case("juminhyo", "in_review")
    approve(submission.id, staff["both"])
    db.session.commit()
    with pytest.raises(NotPermitted):
        workflow.approve(submission.id, staff["both"])


def test_staff_cannot_act_on_what_they_filed(db, new_case, staff, approve, applicant):
    applicant.email = staff["clerk"].email  # the clerk filed this as a resident
    db.session.commit()
    submission = new_case("juminhyo", "in_review")
    assert workflow.available_actions(staff["clerk"], submission) <= {"comment"}
    with pytest.raises(NotPermitted):
        workflow.approve(submission.id, staff["clerk"])


def test_return_supersedes_and_the_resubmitted_case_starts_again(db, new_case, staff, approve, run_worker):
    from app.submissions import service as submissions

    submission = new_case("juminhyo", "in_review")
    approve(submission.id, staff["clerk"])
    workflow.return_for_correction(submission.id, staff["approver"], "本籍の記載を確認してください。")
    db.session.commit()
    submission = _state(db, submission)
    assert submission.state == "returned" and submission.decision_message.startswith("本籍")
    submissions.resubmit(submission)
    db.session.commit()
    run_worker()
    submission = _state(db, submission)
    assert submission.state == "in_review" and submission.round == 2 and submission.current_step == 0
    rounds = db.session.execute(sa.select(Approval.round, Approval.step_key, Approval.state)
                                .where(Approval.submission_id == submission.id).order_by(Approval.id)).all()
    assert rounds == [(1, "uketsuke", "complete"), (1, "kessai", "superseded"), (2, "uketsuke", "pending")]
    # The clerk who approved round 1 may approve again: it is a fresh review of changed answers.
    approve(submission.id, staff["clerk"])


def test_a_route_change_applies_to_new_submissions_only(db, new_case, staff, approve):
    from app.catalogue.definition import canonical_checksum
    from app.catalogue.models import FormVersion

    old = new_case("juminhyo", "in_review")
    v1 = old.form_version
    shorter = {**v1.definition, "version": v1.version + 1, "route": v1.definition["route"][:1]}
    db.session.add(FormVersion(slug=v1.slug, version=v1.version + 1, title_ja=v1.title_ja, title_en=v1.title_en,
                               office_id=v1.office_id, definition=shorter, checksum=canonical_checksum(shorter)))
    db.session.commit()
    new = new_case("juminhyo", "in_review")
    assert new.form_version.version == v1.version + 1 and len(new.route) == 1
    approve(old.id, staff["clerk"])
    approve(new.id, staff["clerk2"])
    db.session.commit()
    assert _state(db, old).state == "in_review"  # still waits for its own 決裁 step
    assert _state(db, new).state == "approved"
