"""The office's sign-in (password, then a TOTP code), enrolment of the authenticator, sign-out, the
staff session's keep-alive, and the administrator's staff page.

Like the resident's sign-in, a failure reads the same for an unknown address, a wrong password and a
deactivated account. Every POST carries a CSRF token (CSRFProtect); the request commits once.
"""

from __future__ import annotations

import segno
import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from app.accounts import staff_service, staff_session
from app.accounts.forms import SignInForm
from app.accounts.models import STAFF_ROLES, Office, Staff
from app.accounts.staff_forms import CodeForm, StaffCreateForm
from app.accounts.staff_session import staff_required
from app.accounts.views import submitted_email_key
from app.db import writes
from app.errors import ValidationFailed
from app.extensions import db, limiter
from app.forms import ButtonForm
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
@limiter.limit("20/hour", key_func=submitted_email_key, methods=["POST"])
def sign_in():
    next_url = request.args.get("next")
    if g.get("staff") is not None and request.method == "GET":
        return redirect(safe_next(next_url, office_home()))
    form = SignInForm()
    if form.validate_on_submit():
        staff = staff_service.authenticate_staff(form.email.data, form.password.data)
        if staff is None:
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
            return redirect(safe_next(next_url, office_home()))
        db.session.rollback()
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
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


@bp.post("/sign-out")
def sign_out():
    # Ends every session of this staff member (the version moves on); the resident's stays.
    staff = g.get("staff")
    if staff is not None:
        staff_service.record_sign_out(staff)
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


# --- the administrator's staff page --------------------------------------------------------------


def _office_choices() -> list[SelectChoice]:
    locale = str(get_locale())
    offices = db.session.scalars(sa.select(Office).order_by(Office.code))
    return [
        SelectChoice("", _("選んでください")),
        *(SelectChoice(office.code, office.name(locale)) for office in offices),
    ]


def _staff_page(form: StaffCreateForm):
    return _page(
        "office/admin/staff.html",
        form,
        staff_list=staff_service.list_staff(),
        action_form=ButtonForm(),
        roles=STAFF_ROLES,
    )


@bp.route("/admin/staff", methods=["GET", "POST"])
@staff_required("admin")
def admin_staff():
    form = StaffCreateForm()
    form.office.choices = _office_choices()
    if form.validate_on_submit():
        try:
            staff, password, _secret = staff_service.create_staff(
                form.email.data, form.display_name.data, form.office.data, form.roles.data, actor=g.staff
            )
        except ValidationFailed as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message)
            return _staff_page(form)
        # The initial password is shown on this response only: it is stored nowhere but as a hash.
        return _page("office/admin/staff_created.html", staff=staff, password=password, status=201)
    return _staff_page(form)


def _target(staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        abort(404)
    return staff


@bp.post("/admin/staff/<int:staff_id>/deactivate")
@staff_required("admin")
def deactivate_staff(staff_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    staff = _target(staff_id)
    if staff.id == g.staff.id:
        flash(_("ご自身のアカウントは停止できません。別の管理者に依頼してください。"), "error")
        return redirect(url_for(".admin_staff"))
    staff_service.deactivate(staff, actor=g.staff)
    flash(
        _(
            "%(name)s さんのアカウントを停止しました。サインイン中の画面も、次の操作で終了します。",
            name=staff.display_name,
        ),
        "success",
    )
    return redirect(url_for(".admin_staff"))


@bp.post("/admin/staff/<int:staff_id>/reactivate")
@staff_required("admin")
def reactivate_staff(staff_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    staff = _target(staff_id)
    staff_service.reactivate(staff, actor=g.staff)
    flash(_("%(name)s さんのアカウントを再開しました。", name=staff.display_name), "success")
    return redirect(url_for(".admin_staff"))
