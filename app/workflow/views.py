"""/office: the clerk's back office. Queues, the case page, and the actions a staff member may take.

Every case route loads through ``visible_case``: a case of an office not on its route answers 404
to staff of other offices, the same as a case that does not exist.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from app import security_log
from app.accounts import staff_service
from app.accounts.models import Staff
from app.accounts.staff_session import staff_required
from app.audit.service import record as audit
from app.catalogue.service import published_forms
from app.db import writes
from app.delivery.service import deliveries_for
from app.documents import service as documents
from app.errors import Conflict
from app.extensions import db, limiter
from app.forms import ButtonForm
from app.submissions import service as submissions
from app.submissions.models import Submission
from app.submissions.presenters import answer_rows
from app.submissions.receivers import receivers_of_case
from app.submissions.states import State
from app.workflow import queue, service
from app.workflow.forms import CommentForm, ReassignForm, RejectForm, ReturnForm
from app.workflow.models import Approval

bp = Blueprint("office", __name__, url_prefix="/office")


def visible_case(submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.state == State.DRAFT:
        abort(404)
    if g.staff.office_id not in service.involved_office_ids(submission):
        abort(404)
    return submission


@bp.get("/")
@staff_required()
def queue_view():
    args = request.args
    older = args.get("older_than_days", "")
    filters = queue.QueueFilters(
        tab=args.get("tab") if args.get("tab") in ("mine", "office", "all") else "office",
        form=args.get("form") or None,
        step=args.get("step") or None,
        state=args.get("state") or None,
        older_than_days=int(older) if older.isdigit() else None,
        q=(args.get("q") or "").strip() or None,
        newest_first=args.get("sort") == "newest",
        after=args.get("after") or None,
    )
    if filters.tab == "all":
        rows, cursor = queue.case_page(g.staff, filters)
    else:
        rows, cursor = queue.task_page(g.staff, filters)
    next_url = url_for(".queue_view", **{**args.to_dict(), "after": cursor}) if cursor else None
    return render_template("office/queue.html", rows=rows, next_url=next_url, filters=filters, wide=True,
                           forms=published_forms(with_definitions=False), is_overdue=queue.is_overdue)


@bp.get("/cases/<int:submission_id>")
@writes  # seeing a case is recorded: the resident's status page lists who looked (office, role, when)
@staff_required()
def case(submission_id: int):
    submission = visible_case(submission_id)
    audit("case.view", actor_type="staff", actor_id=g.staff.id, subject_type="submission", subject_id=submission.id)
    return _render_case(submission)


def _render_case(submission: Submission, *, revealed: dict | None = None, forms: dict | None = None, status=200):
    locale = str(get_locale())
    actions = service.available_actions(g.staff, submission)
    forms = forms or {}
    reassign = forms.get("reassign") or _reassign_form(submission, actions)
    staff_names = _staff_names(submission)
    return render_template(
        "office/case.html",
        submission=submission,
        rows=answer_rows(submission, locale, editable=False, reveal_sensitive=False,
                         attachment_endpoint="office.attachment"),
        revealed=revealed or {},
        has_sensitive=bool(submission.sensitive_answers),
        can_reveal=service.may_reveal_sensitive(g.staff, submission),
        actions=actions,
        step_actions=actions & {"approve", "claim", "return", "reject", "reassign"},
        approvals=service.current_approvals(submission),
        all_approvals=_approvals(submission),
        staff_names=staff_names,
        action_form=ButtonForm(),
        return_form=forms.get("return") or ReturnForm(),
        reject_form=forms.get("reject") or RejectForm(),
        comment_form=forms.get("comment") or CommentForm(),
        reassign_form=reassign,
        is_overdue=queue.is_overdue(submission),
        needs_code=not staff_service.second_factor_is_fresh(g.staff),
        deliveries=deliveries_for(submission.id),
        receivers=receivers_of_case(submission, locale),
        document=documents.current_document(submission.id),
    ), status


def _reassign_form(submission: Submission, actions: set[str]) -> ReassignForm:
    form = ReassignForm()
    if "reassign" in actions:
        form.assignee.choices = [SelectChoice(s.id, s.display_name)
                                 for s in service.reassign_candidates(g.staff, submission)]
    return form


def _approvals(submission):
    return db.session.scalars(
        sa.select(Approval).where(Approval.submission_id == submission.id).order_by(Approval.round, Approval.id)
    ).all()


def _staff_names(submission) -> dict[int, str]:
    ids = {h.actor_id for h in submission.history if h.actor_type == "staff" and h.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Staff.id, Staff.display_name).where(Staff.id.in_(ids))).tuples().all())


def _done(submission_id: int, message: str):
    flash(message, "info")
    return redirect(url_for(".case", submission_id=submission_id))


@bp.post("/cases/<int:submission_id>/claim")
@staff_required("clerk", "approver")
def claim(submission_id: int):
    visible_case(submission_id)
    if ButtonForm().validate_on_submit():
        service.claim(submission_id, g.staff)
        return _done(submission_id, _("この申請の担当になりました。"))
    abort(400)


def _step_up_key() -> str:
    return f"staff-step-up:{g.staff.id}"


def _step_up_failed(_response) -> bool:
    return bool(g.get("step_up_failed"))


@bp.post("/cases/<int:submission_id>/approve")
@staff_required("clerk", "approver")
# The step-up code (ASVS 6.3.1, 6.6.3): five wrong codes in 15 minutes lock this member's sealing (429)
# for the rest of the window; only a wrong code counts, not an approval with a fresh second factor.
@limiter.limit("5 per 15 minute", key_func=_step_up_key, deduct_when=_step_up_failed)
@limiter.limit("30/minute")
def approve(submission_id: int):
    submission = visible_case(submission_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if not staff_service.second_factor_is_fresh(g.staff):
        code = request.form.get("code", "")
        if not code or not staff_service.verify_totp(g.staff, code):
            if code:
                g.step_up_failed = True
                security_log.record("staff.step_up", "failure", submission=submission.id)
            # The response is a page, not an error: the request's commit keeps a consumed code consumed.
            flash(_("押印するには、認証アプリの6桁の確認コードを入力してください。") if not code else
                  _("確認コードが正しくないか、有効期限が切れています。認証アプリの新しいコードを入力してください。"),
                  "error")
            return _render_case(submission, status=403)
    try:
        service.approve(submission_id, g.staff)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".case", submission_id=submission_id))
    return _done(submission_id, _("承認しました。電子印はまもなく押されます。"))


@bp.post("/cases/<int:submission_id>/return")
@staff_required("clerk", "approver")
def return_case(submission_id: int):
    submission = visible_case(submission_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _render_case(submission, forms={"return": form}, status=422)
    service.return_for_correction(submission_id, g.staff, form.message.data.strip())
    return _done(submission_id, _("申請者に差し戻しました。"))


@bp.post("/cases/<int:submission_id>/reject")
@staff_required("clerk", "approver")
def reject(submission_id: int):
    submission = visible_case(submission_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _render_case(submission, forms={"reject": form}, status=422)
    service.reject(submission_id, g.staff, form.reason.data.strip())
    return _done(submission_id, _("却下しました。"))


@bp.post("/cases/<int:submission_id>/comment")
@staff_required()
def comment(submission_id: int):
    submission = visible_case(submission_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _render_case(submission, forms={"comment": form}, status=422)
    service.comment(submission_id, g.staff, form.text.data.strip())
    return _done(submission_id, _("コメントを追加しました。"))


@bp.post("/cases/<int:submission_id>/reassign")
@staff_required("clerk", "approver", "admin")
def reassign(submission_id: int):
    submission = visible_case(submission_id)
    form = _reassign_form(submission, service.available_actions(g.staff, submission))
    if not form.validate_on_submit():
        return _render_case(submission, forms={"reassign": form}, status=422)
    service.reassign(submission_id, g.staff, db.session.get(Staff, form.assignee.data))
    return _done(submission_id, _("担当者を変更しました。"))


@bp.post("/cases/<int:submission_id>/sensitive")
@staff_required()
def reveal_sensitive(submission_id: int):
    """Show My Number once to a designated handler of the current step's office: every read is an audit
    event (no number in the audit payload); a refused attempt is one too, and a security event."""
    submission = visible_case(submission_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if not service.may_reveal_sensitive(g.staff, submission):
        service.refuse_sensitive(submission, g.staff)
        security_log.record("mynumber.reveal", "denied", submission=submission.id)
        flash(_("個人番号は、審査中の段階を担当する課の個人番号事務取扱担当者だけが表示できます。"), "error")
        # A page, not an error: the request's commit keeps the refusal in the ledger.
        return _render_case(submission, status=403)
    return _render_case(submission, revealed=service.reveal_sensitive(submission, g.staff))


@bp.get("/cases/<int:submission_id>/attachments/<int:attachment_id>")
@writes  # every read of an attachment is recorded
@staff_required()
def attachment(submission_id: int, attachment_id: int):
    submission = visible_case(submission_id)
    item = next((a for a in submission.attachments if a.id == attachment_id), None)
    if item is None:
        abort(404)
    audit("attachment.read", actor_type="staff", actor_id=g.staff.id, subject_type="submission",
          subject_id=submission.id, data={"attachment": item.id})
    return send_file(io.BytesIO(submissions.attachment_bytes(item)), mimetype=item.content_type, as_attachment=True,
                     download_name=submissions.download_name(item))


@bp.get("/cases/<int:submission_id>/document")
@writes  # every read of the case's document is recorded, like an attachment's (L10)
@staff_required()
def document(submission_id: int):
    """The latest revision of the case's approval document (as sealed so far)."""
    submission = visible_case(submission_id)
    current = documents.current_document(submission.id)
    if current is None or current.latest is None:
        abort(404)
    audit("document.read", actor_type="staff", actor_id=g.staff.id, subject_type="submission",
          subject_id=submission.id, data={"document": current.id, "revision": current.latest.seq})
    data = documents.read_bytes(current.latest.sha256)
    return current_app.response_class(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{submission.receipt_number}.pdf"'})
