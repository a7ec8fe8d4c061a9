"""Workflow actions on a submission. Each one checks the transition table and the guards, writes the
state change, a history row and an audit event in the caller's transaction, and flushes.

Concurrency: every action first locks the submission row (FOR UPDATE on PostgreSQL; SQLite
serialises writers with BEGIN IMMEDIATE), and an approval is taken with a conditional UPDATE on its
row, so of two staff approving one step at the same moment exactly one wins.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Office, Staff
from app.audit.service import record as audit
from app.db import utcnow
from app.errors import Conflict, NotPermitted
from app.extensions import db
from app.jobs.queue import enqueue
from app.submissions.models import Submission
from app.submissions.service import notify_resident, read_sensitive, record_history
from app.submissions.states import Action, State, next_state
from app.workflow.models import Approval, ApprovalState

#: Open approval states: decided rows wait for their seal before they complete.
OPEN = (ApprovalState.PENDING, ApprovalState.APPROVED)
SEAL_STEP_JOB = "seals.step"
ORG_SEAL_JOB = "seals.org"
#: The resident's 審査結果のお知らせ, rendered by the worker once the case is decided.
NOTICE_JOB = "workflow.notice"
#: The organisation seal: its signature field in the document, its revision's reason, its step in the history.
ORG_SEAL = "org-seal"


def lock(submission_id: int) -> Submission:
    """Load the submission for update: concurrent actions on one case queue here."""
    query = sa.select(Submission).where(Submission.id == submission_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    submission = db.session.scalars(query.execution_options(populate_existing=True)).one()
    return submission


def _check(submission: Submission, action: Action) -> None:
    """Raise InvalidTransition before anything changes when the table has no such move."""
    next_state(submission.state, action)


def _move(submission: Submission, action: Action, *, actor: Staff | None, message: str | None = None,
          step_key: str | None = None) -> None:
    new_state = next_state(submission.state, action)
    from_state = submission.state
    submission.state = new_state.value
    record_history(submission, action.value, from_state, actor_type="staff" if actor else "system",
                   actor_id=actor.id if actor else None, message=message, step_key=step_key)
    audit(f"submission.{action.value}", actor_type="staff" if actor else "system",
          actor_id=actor.id if actor else None, subject_type="submission", subject_id=submission.id,
          data={"from": from_state, "to": submission.state, "step": step_key})
    notify_resident(submission)


# ---- entering the route ----------------------------------------------------------------------------


def enter_route(submission_id: int) -> None:
    """submitted → in_review at step 1 of a fresh round (run by the worker after submit or resubmit)."""
    submission = lock(submission_id)
    _check(submission, Action.ENTER_ROUTE)
    prepare_route(submission)
    _move(submission, Action.ENTER_ROUTE, actor=None)
    _open_step(submission, 0)
    db.session.flush()


def prepare_route(submission: Submission) -> None:
    """Pin the route (first time) and start this pass's round, before the round's document is rendered."""
    if submission.route is None:
        submission.route = submission.form_version.definition["route"]
    rounds_started = sum(1 for h in submission.history if h.action == Action.ENTER_ROUTE)
    submission.round = rounds_started + 1
    db.session.flush()


def _open_step(submission: Submission, index: int) -> None:
    step = submission.route[index]
    submission.current_step = index
    codes = step.get("offices") or [step["office"]]
    offices = {o.code: o for o in db.session.scalars(sa.select(Office).where(Office.code.in_(codes)))}
    for code in codes:
        db.session.add(Approval(submission_id=submission.id, round=submission.round, step_index=index,
                                step_key=step["step"], office_id=offices[code].id, role=step["role"]))


def current_approvals(submission: Submission) -> list[Approval]:
    if submission.current_step is None:
        return []
    return list(db.session.scalars(
        sa.select(Approval).where(Approval.submission_id == submission.id, Approval.round == submission.round,
                                  Approval.step_index == submission.current_step).order_by(Approval.id)
    ))


# ---- guards -------------------------------------------------------------------------------------------


def involved_office_ids(submission: Submission) -> set[int]:
    """Offices that may see the case: the owning office and every office on its route."""
    definition = submission.form_version.definition
    codes = {definition["office"]}
    for step in submission.route or definition.get("route", []):
        codes.update(step.get("offices") or [step["office"]])
    return set(db.session.scalars(sa.select(Office.id).where(Office.code.in_(codes))))


def filed_by(staff: Staff, submission: Submission) -> bool:
    return submission.filed_by_staff_id == staff.id or submission.resident.email == staff.email


def approvable_by(staff: Staff, submission: Submission) -> Approval | None:
    """The open approval row of the current step this staff member may decide, if any."""
    if submission.state != State.IN_REVIEW or filed_by(staff, submission):
        return None
    return _open_for(staff, current_approvals(submission))


def _open_for(staff: Staff, step_approvals: list[Approval]) -> Approval | None:
    for approval in step_approvals:
        if (approval.state == ApprovalState.PENDING and approval.office_id == staff.office_id
                and staff.has_role(approval.role)):
            return approval
    return None


def already_approved_this_round(staff: Staff, submission: Submission) -> bool:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Approval).where(
            Approval.submission_id == submission.id, Approval.round == submission.round,
            Approval.decided_by_id == staff.id)
    ) > 0


def can_decide(staff: Staff, submission: Submission) -> bool:
    """Return or reject: a member of an office with an open task of the current step, with its role."""
    return approvable_by(staff, submission) is not None


def available_actions(staff: Staff, submission: Submission) -> set[str]:
    actions = set()
    if submission.state == State.IN_REVIEW:
        approval = approvable_by(staff, submission)
        if approval is not None:
            actions |= {"return", "reject"}
            if not already_approved_this_round(staff, submission):
                actions.add("approve")
            if approval.assignee_id != staff.id:
                actions.add("claim")
            if staff.has_role("approver") or staff.has_role("admin"):
                actions.add("reassign")
    if staff.office_id in involved_office_ids(submission):
        actions.add("comment")
    return actions


def reassign_candidates(staff: Staff, submission: Submission) -> list[Staff]:
    """Who the current step's task of ``staff``'s office may be given to: active members with its role."""
    approval = approvable_by(staff, submission)
    if approval is None:
        return []
    members = db.session.scalars(
        sa.select(Staff).where(Staff.office_id == approval.office_id, Staff.is_active.is_(True))
        .order_by(Staff.display_name)
    )
    return [member for member in members if member.has_role(approval.role)]


def may_reveal_sensitive(staff: Staff, submission: Submission) -> bool:
    """My Number is shown only to a designated handler (個人番号事務取扱担当者, ``mynumber_handler``) of
    an office whose task at the current step is still open, holding that task's role, while the case
    is in review (ASVS 8.2.3; 番号法: handling limited to designated staff doing the work).

    Everyone else who may see the case (a 合議 office before or after its step, a counter clerk, an
    administrator, anyone once the case is decided) sees that a number was given, never the number.
    """
    if not staff.mynumber_handler or not staff.is_active or submission.state != State.IN_REVIEW:
        return False
    return any(approval.office_id == staff.office_id and approval.state == ApprovalState.PENDING
               and staff.has_role(approval.role) for approval in current_approvals(submission))


def refuse_sensitive(submission: Submission, staff: Staff) -> None:
    """Record a refused attempt to see My Number in the ledger (the resident sees it too)."""
    audit("mynumber.refused", actor_type="staff", actor_id=staff.id, subject_type="submission",
          subject_id=submission.id, data={"handler": bool(staff.mynumber_handler), "state": submission.state})


def reveal_sensitive(submission: Submission, staff: Staff) -> dict:
    """My Number for a designated member of staff: every read is an audit event (no number in the audit
    payload), listed to the resident. Raises NotPermitted (and records the attempt) for anyone else."""
    if not may_reveal_sensitive(staff, submission):
        refuse_sensitive(submission, staff)
        raise NotPermitted(str(_l("個人番号は、審査中の段階を担当する課の個人番号事務取扱担当者だけが表示できます。")))
    values = read_sensitive(submission)
    for field_name in sorted(values):
        audit("mynumber.read", actor_type="staff", actor_id=staff.id, subject_type="submission",
              subject_id=submission.id, data={"field": field_name})
    return values


def _require(allowed: bool, message) -> None:
    if not allowed:
        raise NotPermitted(str(message))


# ---- staff actions ------------------------------------------------------------------------------------


def claim(submission_id: int, staff: Staff) -> None:
    submission = lock(submission_id)
    approval = approvable_by(staff, submission)
    _require(approval is not None, _l("この申請を担当することはできません。"))
    approval.assignee_id = staff.id
    record_history(submission, "claim", submission.state, actor_type="staff", actor_id=staff.id,
                   step_key=approval.step_key, internal=True)
    audit("submission.claim", actor_type="staff", actor_id=staff.id, subject_type="submission",
          subject_id=submission.id, data={"step": approval.step_key})
    db.session.flush()


def reassign(submission_id: int, staff: Staff, assignee: Staff) -> None:
    submission = lock(submission_id)
    approval = approvable_by(staff, submission)
    _require(approval is not None and (staff.has_role("approver") or staff.has_role("admin")),
             _l("担当者を変更する権限がありません。"))
    _require(assignee.is_active and assignee.office_id == approval.office_id and assignee.has_role(approval.role),
             _l("この担当者には割り当てられません。"))
    approval.assignee_id = assignee.id
    record_history(submission, "reassign", submission.state, actor_type="staff", actor_id=staff.id,
                   step_key=approval.step_key, internal=True)
    audit("submission.reassign", actor_type="staff", actor_id=staff.id, subject_type="submission",
          subject_id=submission.id, data={"step": approval.step_key, "assignee": assignee.id})
    db.session.flush()


def comment(submission_id: int, staff: Staff, text: str) -> None:
    submission = lock(submission_id)
    _require(staff.office_id in involved_office_ids(submission), _l("この申請にコメントすることはできません。"))
    record_history(submission, "comment", submission.state, actor_type="staff", actor_id=staff.id,
                   message=text, internal=True)
    audit("submission.comment", actor_type="staff", actor_id=staff.id, subject_type="submission",
          subject_id=submission.id)
    db.session.flush()


def approve(submission_id: int, staff: Staff) -> Approval:
    """Record a step approval. The step completes when its seal is applied (``complete_approval``)."""
    submission = lock(submission_id)
    _check(submission, Action.APPROVE)
    if filed_by(staff, submission):
        raise NotPermitted(str(_l("ご自身が提出した申請は審査できません。")))
    # One read of the round's approvals serves both guards: four eyes, and whose task the step is. Read
    # after the lock and past the identity map, so a decision committed meanwhile is seen.
    in_round = list(db.session.scalars(
        sa.select(Approval).where(Approval.submission_id == submission.id, Approval.round == submission.round)
        .order_by(Approval.id).execution_options(populate_existing=True)
    ))
    if any(a.decided_by_id == staff.id for a in in_round):
        raise NotPermitted(str(_l("同じ申請の複数の段階を、一人で承認することはできません。")))
    approval = _open_for(staff, [a for a in in_round if a.step_index == submission.current_step])
    if approval is None:
        raise Conflict(str(_l("この段階はすでに承認されたか、あなたの担当ではありません。画面を更新してください。")))
    now = utcnow()
    taken = db.session.execute(
        sa.update(Approval).where(Approval.id == approval.id, Approval.state == ApprovalState.PENDING)
        .values(state=ApprovalState.APPROVED, decided_by_id=staff.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Conflict(str(_l("ほかの職員が先に承認しました。画面を更新してください。")))
    # The row holds what this UPDATE wrote (it won the race): tell the session rather than read it back.
    for key, value in (("state", ApprovalState.APPROVED), ("decided_by_id", staff.id), ("decided_at", now)):
        set_committed_value(approval, key, value)
    record_history(submission, "approve", submission.state, actor_type="staff", actor_id=staff.id,
                   step_key=approval.step_key)
    audit("submission.approve", actor_type="staff", actor_id=staff.id, subject_type="submission",
          subject_id=submission.id, data={"step": approval.step_key, "approval": approval.id})
    # The click returns now; the worker applies the seal and then completes the step.
    enqueue(SEAL_STEP_JOB, {"approval_id": approval.id}, idempotency_key=f"seal:{approval.id}")
    db.session.flush()
    return approval


def awaits_seal(approval: Approval, submission: Submission) -> bool:
    """A decided approval of the case's current round, not yet sealed: a retried seal job, or one for a
    case returned or withdrawn meanwhile, finds False and does nothing."""
    return (approval.state == ApprovalState.APPROVED and submission.state == State.IN_REVIEW
            and approval.round == submission.round)


def complete_approval(approval_id: int) -> None:
    """The approval's seal is applied: the step is done for its office; when the whole step is, the
    route moves on, and after the last step the organisation seal is queued."""
    approval = db.session.get(Approval, approval_id)
    submission = lock(approval.submission_id)
    if not awaits_seal(approval, submission):
        return
    approval.state = ApprovalState.COMPLETE
    approval.completed_at = utcnow()
    db.session.flush()
    if any(a.state != ApprovalState.COMPLETE for a in current_approvals(submission)):
        return  # a 合議 step waits for its other offices
    if submission.current_step + 1 < len(submission.route):
        _open_step(submission, submission.current_step + 1)
        db.session.flush()
        return
    # Every step is sealed: the case waits (still in review, at no step) for the organisation seal.
    submission.current_step = None
    enqueue(ORG_SEAL_JOB, {"submission_id": submission.id},
            idempotency_key=f"{ORG_SEAL}:{submission.id}:{submission.round}")
    db.session.flush()


def finish(submission_id: int) -> None:
    """The organisation seal is on: the submission is approved (in the seal's own transaction)."""
    submission = lock(submission_id)
    submission.decided_at = utcnow()
    _move(submission, Action.APPROVE, actor=None, step_key=ORG_SEAL)
    _queue_notice(submission)
    db.session.flush()


def _queue_notice(submission: Submission) -> None:
    enqueue(NOTICE_JOB, {"submission_id": submission.id}, idempotency_key=f"notice:{submission.id}:{submission.round}")


def return_for_correction(submission_id: int, staff: Staff, message: str) -> None:
    submission = lock(submission_id)
    _check(submission, Action.RETURN)
    _require(can_decide(staff, submission), _l("この申請を差し戻すことはできません。"))
    step_key = submission.route[submission.current_step]["step"]
    _supersede_open(submission)
    submission.decision_message = message
    _move(submission, Action.RETURN, actor=staff, message=message, step_key=step_key)
    db.session.flush()


def reject(submission_id: int, staff: Staff, reason: str) -> None:
    submission = lock(submission_id)
    _check(submission, Action.REJECT)
    _require(can_decide(staff, submission), _l("この申請を却下することはできません。"))
    step_key = submission.route[submission.current_step]["step"]
    _supersede_open(submission)
    submission.decision_message = reason
    submission.decided_at = utcnow()
    _move(submission, Action.REJECT, actor=staff, message=reason, step_key=step_key)
    _queue_notice(submission)
    db.session.flush()


def _supersede_open(submission: Submission) -> None:
    supersede_open_approvals(submission.id)
    submission.current_step = None


def supersede_open_approvals(submission_id: int) -> None:
    """The case left review (returned, rejected, withdrawn): its open tasks leave the office queues."""
    db.session.execute(
        sa.update(Approval).where(Approval.submission_id == submission_id, Approval.state.in_(OPEN))
        .values(state=ApprovalState.SUPERSEDED).execution_options(synchronize_session=False)
    )
