"""Sign-up, e-mail confirmation, sign-in, sign-out, password reset and the account page.

Whether an address has an account is never shown: sign-in failures read the same for an unknown
address and a wrong password, sign-up and reset requests always end on the same "check your mail"
page, and the mail (if any) tells the address's owner what happened.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from app import security_log
from app.accounts import service
from app.accounts import session as account_session
from app.accounts.forms import ResendConfirmationForm, ResetPasswordForm, ResetRequestForm, SignInForm, SignUpForm
from app.accounts.models import Resident
from app.errors import ValidationFailed
from app.extensions import db, limiter
from app.http import safe_next
from app.jp import InvalidValue

bp = Blueprint("accounts", __name__, url_prefix="/account")

#: Set after a correct password for an unconfirmed account, so "resend" needs no address in the form.
_UNCONFIRMED = "unconfirmed_resident"


def submitted_email_key() -> str:
    """Rate-limit key per address typed, so one account is not attacked from many IPs; hashed, so the
    limiter's storage holds no addresses."""
    raw = request.form.get("email", "")
    try:
        address = service.normalize_email(raw)
    except InvalidValue:
        address = raw.strip().lower()
    return "email:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def address_and_ip_key() -> str:
    """Rate-limit key per address typed *from one client address*: a stranger guessing a resident's
    password is stopped, but cannot lock the resident out from elsewhere (ASVS 6.1.1, 6.3.1: no hard
    lock on the address alone). Attempts spread over many client addresses are each held by the
    per-IP limit, and show in the security event log as failures on one address hash."""
    return f"{submitted_email_key()}:ip:{get_remote_address()}"


def _default_after_sign_in() -> str:
    return url_for("submissions.mine")


def _page(template: str, form=None, status: int | None = None, **context):
    if status is None:
        status = 422 if form is not None and form.errors else 200
    context.setdefault("password_min_length", service.PASSWORD_MIN_LENGTH)
    return render_template(template, form=form, **context), status


# --- sign-up and confirmation --------------------------------------------------------------------


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def sign_up():
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            service.register_resident(form.email.data, form.password.data, str(get_locale()))
        except service.EmailInUse:
            # Answer exactly as for a new address; the owner of the address learns of it by mail.
            db.session.rollback()
            service.notify_existing_account(form.email.data)
        except ValidationFailed as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message)
            return _page("accounts/sign_up.html", form)
        return redirect(url_for(".check_email", kind="sign-up"))
    return _page("accounts/sign_up.html", form)


@bp.get("/check-email/<any('sign-up', 'reset'):kind>")
def check_email(kind: str):
    return _page(
        "accounts/check_email.html",
        kind=kind,
        days=service.CONFIRM_MAX_AGE.days,
        minutes=int(service.RESET_MAX_AGE.total_seconds() // 60),
    )


@bp.get("/confirm/<token>")
def confirm(token: str):
    # Confirming on GET is deliberate: it only records that the mail arrived, and opening the link
    # twice (or a mail scanner opening it first) does no harm.
    try:
        service.confirm_email(token)
    except service.InvalidLink as exc:
        db.session.rollback()
        return _page("accounts/link_invalid.html", status=400, message=exc.message, kind="confirm")
    flash(_("メールアドレスを確認しました。サインインしてください。"), "success")
    return redirect(url_for(".sign_in"))


@bp.post("/confirm/resend")
@limiter.limit("5/hour")
def resend_confirmation():
    form = ResendConfirmationForm()
    resident = db.session.get(Resident, session.get(_UNCONFIRMED) or 0)
    if not form.validate_on_submit() or resident is None:
        flash(_("もう一度サインインしてから、確認メールの再送を押してください。"), "error")
        return redirect(url_for(".sign_in"))
    if not resident.is_confirmed:
        service.send_confirmation(resident)
    return redirect(url_for(".check_email", kind="sign-up"))


# --- sign-in and sign-out ------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@limiter.limit("20/hour", key_func=address_and_ip_key, methods=["POST"])
def sign_in():
    next_url = request.args.get("next")
    if g.get("resident") is not None and request.method == "GET":
        return redirect(safe_next(next_url, _default_after_sign_in()))
    form = SignInForm()
    resend_form = None
    if form.validate_on_submit():
        resident = service.authenticate(form.email.data, form.password.data)
        if resident is None:
            security_log.record("resident.sign_in", "failure", email_hash=security_log.hashed(form.email.data))
            form.add_error(
                "email",
                _(
                    "メールアドレスまたはパスワードが正しくありません。入力内容を確かめて、もう一度お試しください。"
                    "パスワードを忘れた場合は、下のリンクから再設定できます。"
                ),
            )
        elif not resident.is_confirmed:
            # Only someone who knows the password learns that the address is unconfirmed.
            session[_UNCONFIRMED] = resident.id
            resend_form = ResendConfirmationForm()
        else:
            service.record_sign_in(resident)
            account_session.sign_in(resident)
            session.setdefault("locale", resident.locale)
            security_log.record("resident.sign_in", "success", actor_type="resident", actor_id=resident.id)
            return redirect(safe_next(next_url, _default_after_sign_in()))
    status = 403 if resend_form is not None else None
    return _page("accounts/sign_in.html", form, status=status, next_url=next_url, resend_form=resend_form)


@bp.post("/sign-out")
def sign_out():
    # Ends every session of this resident, not just this browser's cookie: the version in the
    # database moves on, and any copy of the old cookie is refused from now on.
    if g.get("resident") is not None:
        security_log.record("resident.sign_out", "success")
    account_session.sign_out(g.get("resident"))
    flash(_("サインアウトしました。"), "success")
    return redirect(url_for(".sign_in"))


# --- password reset ------------------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5/hour", methods=["POST"])
@limiter.limit("5/hour", key_func=submitted_email_key, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        service.request_password_reset(form.email.data)
        security_log.record("resident.reset_request", "success", email_hash=security_log.hashed(form.email.data))
        return redirect(url_for(".check_email", kind="reset"))
    return _page("accounts/reset_request.html", form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        resident = service.resident_for_reset(token)
    except service.InvalidLink as exc:
        security_log.record("resident.reset", "failure", reason="expired" if exc.expired else "invalid")
        return _page("accounts/link_invalid.html", status=400, message=exc.message, kind="reset")
    form = ResetPasswordForm()
    form.account_email = resident.email
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message, default="password")
            return _page("accounts/reset_password.html", form, email=resident.email)
        account_session.sign_out(None)  # this browser's session (if any) died with the version bump
        security_log.record("resident.reset", "success", actor_type="resident", actor_id=resident.id)
        flash(_("パスワードを変更しました。新しいパスワードでサインインしてください。"), "success")
        return redirect(url_for(".sign_in"))
    return _page("accounts/reset_password.html", form, email=resident.email)


# --- the account page ----------------------------------------------------------------------------


@bp.get("")
@account_session.resident_required
def account():
    return _page("accounts/account.html", resident=g.resident)
