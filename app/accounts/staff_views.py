"""The office's sign-in (password, then a TOTP code), the enrolment link (the member sets a password),
enrolment of the authenticator, the member's own password, sign-out, the staff session's keep-alive.
The administrator's staff pages are ``app.accounts.staff_admin``.

Like the resident's sign-in, a failure reads the same for an unknown address, a wrong password and a
deactivated account. Every POST carries a CSRF token (CSRFProtect); the request commits once.
"""

from __future__ import annotations

import segno
from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.routing import BuildError

from app import security_log
from app.accounts import service as account_service
from app.accounts import staff_service, staff_session
from app.accounts.forms import SignInForm
from app.accounts.staff_forms import CodeForm, StaffChangePasswordForm, StaffPasswordForm
from app.accounts.staff_session import staff_required
from app.accounts.views import address_and_ip_key
from app.db import writes
from app.errors import ValidationFailed
from app.extensions import db, limiter
from app.http import safe_next

bp = Blueprint("staff_auth", __name__, url_prefix="/office")


@bp.before_app_request
def _load_staff():
    staff_session.load_staff()


def office_home() -> str:
    """The queue (``office.queue``) once it exists; ``/office/`` otherwise."""
    try:
        return url_for("office.queue")
    except BuildError:
        return "/office/"


@bp.app_context_processor
def _office_helpers():
    return {
        "office_home": office_home,
        "staff_idle_seconds_left": staff_session.staff_idle_seconds_left,
    }


def _pending_staff_key() -> str:
    """Rate-limit key per account for the code step: a copied cookie cannot reset the count."""
    data = session.get("staff")
    ident = data.get("id") if isinstance(data, dict) else None
    return f"staff-code:{ident}"


def _page(template: str, form=None, status: int | None = None, **context):
    if status is None:
        status = 422 if form is not None and form.errors else 200
    return render_template(template, form=form, **context), status


def _bad_code_message() -> str:
    return _(
        "確認コードが正しくないか、有効期限が切れています。認証アプリに表示されている最新のコードを入力してください。"
    )


def _restart_sign_in(next_url: str | None):
    flash(_("サインインの途中で時間がたちました。もう一度、メールアドレスとパスワードから入力してください。"), "error")
    return redirect(url_for(".sign_in", next=next_url))


# --- sign-in --------------------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@limiter.limit("20/hour", key_func=address_and_ip_key, methods=["POST"])
def sign_in():
    next_url = request.args.get("next")
    if g.get("staff") is not None and request.method == "GET":
        return redirect(safe_next(next_url, office_home()))
    form = SignInForm()
    if form.validate_on_submit():
        staff = staff_service.authenticate_staff(form.email.data, form.password.data)
        if staff is None:
            security_log.record("staff.password", "failure", email_hash=security_log.hashed(form.email.data))
            form.add_error(
                "email",
                _(
                    "メールアドレスまたはパスワードが正しくありません。入力内容を確かめて、もう一度お試しください。"
                    "パスワードが分からない場合は、管理者にお問い合わせください。"
                ),
            )
        else:
            staff_session.begin_sign_in(staff)
            step = ".code" if staff.is_enrolled else ".enrol"
            return redirect(url_for(step, next=next_url))
    return _page("office/auth/sign_in.html", form, next_url=next_url, expired=g.get("staff_session_expired"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@limiter.limit("10 per 15 minute", key_func=_pending_staff_key, methods=["POST"])
def code():
    next_url = request.args.get("next")
    staff = staff_session.pending_staff()
    if staff is None:
        return _restart_sign_in(next_url)
    if not staff.is_enrolled:
        return redirect(url_for(".enrol", next=next_url))
    form = CodeForm()
    if form.validate_on_submit():
        if staff_service.verify_totp(staff, form.code.data):
            staff_service.record_sign_in(staff)
            staff_session.complete_sign_in(staff)
            security_log.record("staff.sign_in", "success", actor_type="staff", actor_id=staff.id)
            return redirect(safe_next(next_url, office_home()))
        db.session.rollback()
        security_log.record("staff.totp", "failure", actor_type="staff", actor_id=staff.id, stage="sign_in")
        form.add_error("code", _bad_code_message(), default="code")
    return _page("office/auth/code.html", form, next_url=next_url)


@bp.route("/enrol", methods=["GET", "POST"])
@writes  # a GET stores a new secret for an account that has none
@limiter.limit("10/minute", methods=["POST"])
@limiter.limit("10 per 15 minute", key_func=_pending_staff_key, methods=["POST"])
def enrol():
    next_url = request.args.get("next")
    staff = staff_session.pending_staff()
    if staff is None:
        return _restart_sign_in(next_url)
    if staff.is_enrolled:
        return redirect(url_for(".code", next=next_url))
    form = CodeForm()
    if form.validate_on_submit():
        if staff_service.verify_totp(staff, form.code.data):
            staff_service.complete_enrolment(staff)
            staff_service.record_sign_in(staff, enrolled_now=True)
            staff_session.complete_sign_in(staff)
            flash(
                _("認証アプリの設定が完了しました。次回からは、サインインのたびに確認コードを入力します。"), "success"
            )
            return redirect(safe_next(next_url, office_home()))
        db.session.rollback()
        security_log.record("staff.totp", "failure", actor_type="staff", actor_id=staff.id, stage="enrol")
        form.add_error("code", _bad_code_message(), default="code")
    if staff_service.totp_secret(staff) is None:
        staff_service.set_totp_secret(staff, staff_service.new_totp_secret())
    secret = staff_service.totp_secret(staff)
    return _page(
        "office/auth/enrol.html",
        form,
        next_url=next_url,
        qr_svg=_qr_svg(staff_service.totp_uri(staff)),
        secret_grouped=staff_service.group_secret(secret),
        account_name=staff.email,
        issuer=staff_service.TOTP_ISSUER,
    )


def _qr_svg(data: str) -> Markup:
    title = _("認証アプリで読み取るQRコード")
    svg = segno.make(data, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=title)
    # bandit B704: segno's SVG of the otpauth URI we built; the title is our own text, escaped by segno
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # nosec B704


@bp.route("/enrol/<token>", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def enrol_link(token: str):
    """The single-use link a new member received by mail: they set their password, then their
    authenticator (the enrolment page): nobody else ever knows either."""
    try:
        staff = staff_service.staff_for_enrolment(token)
    except account_service.InvalidLink as exc:
        db.session.rollback()
        return _page("accounts/link_invalid.html", status=400, message=exc.message, kind="enrol")
    form = StaffPasswordForm()
    form.account_email = staff.email
    if form.validate_on_submit():
        try:
            staff_service.set_password(staff, form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message, default="password")
        else:
            staff_session.begin_sign_in(staff)  # the authenticator next, in this browser only
            return redirect(url_for(".code" if staff.is_enrolled else ".enrol"))
    return _page("office/auth/set_password.html", form, email=staff.email,
                 password_min_length=account_service.PASSWORD_MIN_LENGTH)


@bp.route("/account/password", methods=["GET", "POST"])
@staff_required
@limiter.limit("10/hour", methods=["POST"])
def change_password():
    """The member changes their own password; their other sessions end, this one goes on."""
    form = StaffChangePasswordForm()
    form.account_email = g.staff.email
    if form.validate_on_submit():
        try:
            staff_service.change_own_password(g.staff, form.current_password.data, form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            if exc.field == "current_password":
                security_log.record("staff.password", "failure", stage="change")
            form.add_error(exc.field, exc.message, default="password")
        else:
            staff_session.complete_sign_in(g.staff)  # this session names the new version
            security_log.record("staff.password_change", "success")
            flash(_("パスワードを変更しました。ほかの端末でのサインインは終了しました。"), "success")
            return redirect(office_home())
    return _page("office/auth/change_password.html", form,
                 password_min_length=account_service.PASSWORD_MIN_LENGTH)


@bp.post("/sign-out")
def sign_out():
    # Ends every session of this staff member (the version moves on); the resident's stays.
    staff = g.get("staff")
    if staff is not None:
        staff_service.record_sign_out(staff)
        security_log.record("staff.sign_out", "success")
    staff_session.sign_out(staff)
    flash(_("サインアウトしました。"), "success")
    return redirect(url_for(".sign_in"))


# --- the idle warning ---------------------------------------------------------------------------


@bp.get("/session")
def session_status():
    """For the expiry warning script: seconds left, without counting as activity."""
    staff = g.get("staff")
    return jsonify(
        {"signed_in": staff is not None, "seconds_left": staff_session.staff_idle_seconds_left() if staff else 0}
    )


@bp.post("/session/extend")
@staff_required
def extend_session():
    # load_staff already counted this request as activity.
    return redirect(safe_next(request.form.get("next"), office_home()))
