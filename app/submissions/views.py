"""Resident portal: start a form, fill it page by page, check, submit, follow its status.

Every object route loads through ``own_submission``: a submission that is not the signed-in
resident's answers 404, the same as one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import io
import json

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm import joinedload

from app import security_log
from app.accounts.session import resident_required
from app.catalogue.definition import is_shown
from app.catalogue.service import latest_version
from app.documents import service as documents
from app.errors import InvalidTransition, NotFound
from app.extensions import csrf, db
from app.fieldcrypt import decrypt_json, encrypt_json
from app.forms import ButtonForm
from app.submissions import errand, filling, service
from app.submissions.forms import DeclarationForm
from app.submissions.models import Submission
from app.submissions.presenters import answer_rows, error_targets, page_context, staff_accesses
from app.submissions.receivers import CONSENT_FIELD, consents_from, receivers, receivers_of_case
from app.submissions.states import State

bp = Blueprint("submissions", __name__)


#: States in which the resident edits the answers: a draft, or a case returned for correction.
EDITABLE = (State.DRAFT, State.RETURNED)


def own_submission(submission_id: int, *, editable: bool | None = None) -> Submission | None:
    """The signed-in resident's submission, or 404. With ``editable=True``, None when it cannot be edited now."""
    # With its form version in the same query: nearly every caller reads the definition next.
    submission = db.session.get(Submission, submission_id, options=[joinedload(Submission.form_version)])
    if submission is None or submission.resident_id != g.resident.id:
        if submission is not None:  # someone else's: the answer is the same 404, the attempt is recorded
            security_log.record("access", "denied", object="submission", object_id=submission_id)
        abort(404)
    if editable is True and submission.state not in EDITABLE:
        return None
    if editable is False and submission.state == State.DRAFT:
        abort(404)
    return submission


def locale() -> str:
    return str(get_locale())


@bp.get("/forms/<slug>")
def form_start(slug: str):
    version = latest_version(slug)
    if version is None:
        abort(404)
    found = errand.errand(version, None, locale())
    return render_template("submissions/start.html", version=version, form=ButtonForm(), errand=found,
                           fee_text=errand.fee_sentence(found["fee"]))


@bp.post("/forms/<slug>/start")
@resident_required
def start(slug: str):
    draft = service.start_draft(g.resident, slug)
    first = service.incomplete_pages(draft) or service.visible_pages(draft.form_version.definition, draft.answers)
    return redirect(url_for(".page", submission_id=draft.id, page_id=first[0]["id"]))


@bp.get("/drafts/<int:submission_id>")
@resident_required
def resume(submission_id: int):
    draft = own_submission(submission_id, editable=True)
    if draft is None:
        return redirect(url_for(".status", submission_id=submission_id))
    missing = service.incomplete_pages(draft)
    if missing:
        return redirect(url_for(".page", submission_id=draft.id, page_id=missing[0]["id"]))
    return redirect(url_for(".check", submission_id=draft.id))


STASH_LIMIT = 1800  # bytes of JSON: the stash rides, encrypted, in the session cookie (4 KB at most)


STASH_CONTEXT = "session-stash"


def _seal_stash(stash: dict) -> bytes:
    """The stash holds personal data (names, addresses, dates of birth): encrypted, not only signed, in
    the cookie (ASVS 14.3.3), under the field key."""
    return encrypt_json(stash, secret=current_app.config["MADOGUCHI_FIELD_KEY"], context=STASH_CONTEXT)


def _open_stash() -> dict | None:
    sealed = session.get("stash")
    if not isinstance(sealed, bytes):
        return None
    try:
        return decrypt_json(sealed, secret=current_app.config["MADOGUCHI_FIELD_KEY"], context=STASH_CONTEXT)
    except Exception:  # noqa: BLE001 - a stash from another key or a damaged cookie is dropped
        return None


def _stash_entries_for_sign_in(submission_id: int, page_id: str):
    """The session idled out while the resident typed: keep the entries across the sign-in.

    They wait, encrypted, in the session cookie and are written to the draft only after the resident
    has signed in again and ownership is checked.
    """
    # The same answer whether the draft or the page exists or not: ids cannot be probed (ASVS 8.2.2).
    submission = db.session.get(Submission, submission_id)
    try:
        entries = filling.stash_entries(submission, page_id, request.form.to_dict(flat=False)) if submission else None
    except NotFound:
        entries = None
    if entries is not None and len(json.dumps(entries, ensure_ascii=False).encode()) <= STASH_LIMIT:
        session["stash"] = _seal_stash({"submission_id": submission_id, "page_id": page_id, "entries": entries})
    flash(
        _("一定時間操作がなかったため、サインアウトしました。もう一度サインインすると、入力した内容の続きから再開できます。"),
        "error",
    )
    return redirect(url_for("accounts.sign_in", next=url_for(".page", submission_id=submission_id, page_id=page_id)))


def _restore_stash(draft: Submission, page_spec: dict) -> None:
    stash = _open_stash()
    if stash and stash.get("submission_id") == draft.id and stash.get("page_id") == page_spec["id"]:
        session.pop("stash")
        service.save_pending(draft, page_spec, stash["entries"])
        flash(_("サインアウト前に入力した内容を復元しました。内容を確かめて「次へ進む」を押してください。"), "info")


_SAVED_FOR_LATER = _l("入力内容を保存しました。「わたしの申請」からいつでも続きを入力できます。")


@bp.route("/drafts/<int:submission_id>/pages/<page_id>", methods=["GET", "POST"])
def page(submission_id: int, page_id: str):
    if g.resident is None:
        if request.method == "POST":
            return _stash_entries_for_sign_in(submission_id, page_id)
        return redirect(url_for("accounts.sign_in", next=request.full_path))
    draft = own_submission(submission_id, editable=True)
    if draft is None:  # submitted meanwhile (another tab, a double click): show where it stands
        return redirect(url_for(".status", submission_id=submission_id))
    definition = draft.form_version.definition
    page_spec = service.find_page(definition, page_id)
    if not is_shown(page_spec.get("show_if"), draft.answers):
        return redirect(url_for(".check", submission_id=draft.id))
    fields = service.visible_fields(page_spec, draft.answers)

    if request.method == "GET":
        _restore_stash(draft, page_spec)
        return _render_page(draft, page_spec, fields, filling.page_form(draft, page_spec, fields, locale()))

    formdata = request.form.copy()
    formdata.update(request.files)
    form = filling.posted_form(fields, locale(), formdata)
    entries = request.form.to_dict(flat=False)
    try:
        validate_csrf(request.form.get("csrf_token"))
    except Exception:  # noqa: BLE001 — an expired token must not lose the resident's entries
        # Shown again on the page (with a fresh token), never stored: a request whose token does not
        # match may not be the resident's own, and must change nothing (ASVS 3.5.1).
        security_log.record("csrf", "denied", reason="draft page")
        flash(
            _("画面を開いてから時間がたったため、送信を確認できませんでした。入力内容は残っています。もう一度「次へ進む」を押してください。"),
            "error",
        )
        filling.size_groups(form, fields)
        return _render_page(draft, page_spec, fields, form)

    outcome = filling.post_page(draft, page_spec, fields, form, action=request.form.get("action", "next"),
                                entries=entries, files=request.files, locale=locale())
    if outcome == filling.Outcome.BACK:
        previous, _next = service.neighbour_pages(definition, draft.answers, page_id)
        return redirect(url_for(".page", submission_id=draft.id, page_id=previous["id"]) if previous
                        else url_for(".form_start", slug=draft.form_version.slug))
    if outcome in (filling.Outcome.REDRAWN, filling.Outcome.WARNED):
        return _render_page(draft, page_spec, fields, form)
    if outcome == filling.Outcome.INVALID:
        return _render_page(draft, page_spec, fields, form), 422
    if outcome in (filling.Outcome.KEPT_FOR_LATER, filling.Outcome.SAVED):
        flash(str(_SAVED_FOR_LATER), "info")
        return redirect(url_for(".mine"))
    if outcome == filling.Outcome.MORE_QUESTIONS:
        flash(_("回答に応じて質問が追加されました。追加された項目に回答してください。"), "info")
        return redirect(url_for(".page", submission_id=draft.id, page_id=page_id))
    if request.args.get("return") == "check":
        return redirect(url_for(".check", submission_id=draft.id))
    _previous, following = service.neighbour_pages(definition, draft.answers, page_id)
    if following is None:
        return redirect(url_for(".check", submission_id=draft.id))
    return redirect(url_for(".page", submission_id=draft.id, page_id=following["id"]))


csrf.exempt(page)  # checked inside the view, so an expired token re-shows the entries instead of failing


#: What the resident may download, by the name in the address, with the name people see (and the file's).
RESIDENT_DOCUMENTS = {
    "receipt": _l("申請内容の控え"),
    "notice": _l("審査結果のお知らせ"),
    "approval": _l("電子印つきの決裁済み書類"),
}


def _resident_kinds(submission: Submission) -> list[str]:
    """The kinds of document this resident may download now: the copy of what was filed at once, the
    decision's notice once decided, and the sealed document itself only when the form says so."""
    kinds = ["receipt", "notice"]
    if submission.state == State.APPROVED and submission.form_version.definition.get("resident_sealed_copy"):
        kinds.append("approval")
    return kinds


def _documents_of(submission: Submission) -> list[dict]:
    """``[{kind, name}]`` of the rendered documents the resident may download, in that order."""
    found = []
    for kind in _resident_kinds(submission):
        current = documents.current_document(submission.id, kind)
        if current is not None and current.latest is not None:
            found.append({"kind": kind, "name": str(RESIDENT_DOCUMENTS[kind])})
    return found


def _render_page(draft, page_spec, fields, form):
    context = page_context(draft, page_spec, fields, form, locale())
    return render_template("submissions/page.html", **context)


@bp.get("/drafts/<int:submission_id>/check")
@resident_required
def check(submission_id: int):
    draft = own_submission(submission_id, editable=True)
    if draft is None:
        return redirect(url_for(".status", submission_id=submission_id))
    missing = service.incomplete_pages(draft)
    if missing:
        flash(_("まだ回答していないページがあります。"), "error")
        return redirect(url_for(".page", submission_id=draft.id, page_id=missing[0]["id"]))
    return _check_page(draft, DeclarationForm(), ticked=None)


def _check_page(draft: Submission, form: DeclarationForm, *, ticked: list[str] | None, errors=(), status=200):
    """The check page; ``ticked``: the consent boxes as posted (None: as last recorded, unticked at first)."""
    chosen = consents_from(draft.form_version, ticked) if ticked is not None else draft.destination_consents
    return render_template("submissions/check.html", draft=draft, form=form, errors=list(errors),
                           rows=answer_rows(draft, locale(), editable=True, reveal_sensitive=True),
                           fee_text=errand.fee_sentence(errand.fee(draft.form_version, draft.answers)),
                           receivers=receivers(draft.form_version, chosen, locale()),
                           consent_field=CONSENT_FIELD), status


@bp.post("/drafts/<int:submission_id>/submit")
@resident_required
def submit(submission_id: int):
    submission = own_submission(submission_id)
    if submission.state not in EDITABLE:  # a double click or a retried POST: the first one already submitted
        return redirect(url_for(".confirmation", submission_id=submission.id))
    resubmitting = submission.state == State.RETURNED
    form = DeclarationForm()
    ticked = request.form.getlist(CONSENT_FIELD)
    if not form.validate_on_submit():
        return _check_page(submission, form, ticked=ticked, errors=error_targets(form), status=422)
    consents = consents_from(submission.form_version, ticked)
    try:
        service.resubmit(submission, consents) if resubmitting else service.submit(submission, consents)
    except InvalidTransition:
        missing = service.incomplete_pages(submission)
        flash(_("まだ回答していないページがあります。"), "error")
        return redirect(url_for(".page", submission_id=submission.id, page_id=missing[0]["id"]))
    if resubmitting:
        flash(_("直した内容で再提出しました。審査をはじめからやり直します。"), "info")
        return redirect(url_for(".status", submission_id=submission_id))
    return redirect(url_for(".confirmation", submission_id=submission_id))


@bp.get("/submissions/<int:submission_id>/confirmation")
@resident_required
def confirmation(submission_id: int):
    submission = own_submission(submission_id, editable=False)
    steps = errand.next_steps(submission.form_version, submission.answers, submission.submitted_at)
    return render_template("submissions/confirmation.html", submission=submission, steps=steps)


@bp.get("/submissions")
@resident_required
def mine():
    submissions = db.session.scalars(
        sa.select(Submission).where(Submission.resident_id == g.resident.id).order_by(Submission.updated_at.desc())
    ).all()
    drafts = [s for s in submissions if s.state == State.DRAFT]
    filed = [s for s in submissions if s.state != State.DRAFT]
    return render_template("submissions/mine.html", drafts=drafts, filed=filed, form=ButtonForm())


@bp.get("/submissions/<int:submission_id>")
@resident_required
def status(submission_id: int):
    submission = own_submission(submission_id, editable=False)
    return render_template("submissions/status.html", submission=submission,
                           rows=answer_rows(submission, locale(), editable=False, reveal_sensitive=True),
                           form=ButtonForm(),
                           timeline=[h for h in submission.history if not h.internal],
                           documents=_documents_of(submission),
                           receivers=receivers_of_case(submission, locale()),
                           steps=errand.next_steps(submission.form_version, submission.answers, submission.submitted_at,
                                                   decided=submission.state == State.APPROVED),
                           accesses=staff_accesses(submission))


@bp.route("/submissions/<int:submission_id>/withdraw", methods=["GET", "POST"])
@resident_required
def withdraw(submission_id: int):
    submission = own_submission(submission_id, editable=False)
    form = ButtonForm()
    if request.method == "POST" and form.validate_on_submit():
        if submission.state == State.WITHDRAWN:  # already done (double click)
            return redirect(url_for(".status", submission_id=submission.id))
        service.withdraw(submission)
        flash(_("申請を取り下げました。"), "info")
        return redirect(url_for(".status", submission_id=submission.id))
    return render_template("submissions/withdraw.html", submission=submission, form=form)


@bp.post("/drafts/<int:submission_id>/discard")
@resident_required
def discard(submission_id: int):
    draft = own_submission(submission_id, editable=True)
    if draft is None:
        return redirect(url_for(".status", submission_id=submission_id))
    if ButtonForm().validate_on_submit():
        service.discard_draft(draft)
        flash(_("下書きを削除しました。"), "info")
    return redirect(url_for(".mine"))


@bp.get("/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@resident_required
def attachment(submission_id: int, attachment_id: int):
    submission = own_submission(submission_id)
    item = next((a for a in submission.attachments if a.id == attachment_id), None)
    if item is None:
        abort(404)
    return send_file(io.BytesIO(service.attachment_bytes(item)), mimetype=item.content_type, as_attachment=True,
                     download_name=service.download_name(item))


@bp.get("/submissions/<int:submission_id>/documents/<kind>.pdf")
@resident_required
def document(submission_id: int, kind: str):
    """The resident's copies, named for what they are: 申請内容の控え at once, 審査結果のお知らせ once
    decided, and the sealed document only when the form gives it to the resident."""
    submission = own_submission(submission_id, editable=False)
    if kind not in _resident_kinds(submission):
        abort(404)
    current = documents.current_document(submission.id, kind)
    if current is None or current.latest is None:
        abort(404)
    data = documents.read_bytes(current.latest.sha256)
    with force_locale("ja"):
        name = f"{submission.receipt_number}-{RESIDENT_DOCUMENTS[kind]}.pdf"
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.errorhandler(CSRFError)
def csrf_expired(error):
    db.session.rollback()
    current_app.logger.info("CSRF failure on %s", request.path)
    flash(
        _("画面を開いてから時間がたったため、操作を確認できませんでした。お手数ですが、もう一度操作してください。"),
        "error",
    )
    return redirect(request.path if request.method == "GET" else url_for(".mine"))
