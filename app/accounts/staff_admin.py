"""/office/admin/staff: the administrator's staff pages.

An administrator creates an account (the new member gets an enrolment link by mail: nobody else ever
sees their password), stops and restarts accounts, changes roles, and designates My Number handlers.
The approver and admin roles take effect only when a second administrator confirms them here; nobody
designates themselves.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app.accounts import staff_service
from app.accounts.models import STAFF_ROLES, Office, Staff
from app.accounts.staff_forms import StaffCreateForm, StaffRolesForm
from app.accounts.staff_session import staff_required
from app.errors import NotPermitted, ValidationFailed
from app.extensions import db
from app.forms import ButtonForm

bp = Blueprint("staff_admin", __name__, url_prefix="/office/admin/staff")


def _page(template: str, form=None, status: int | None = None, **context):
    if status is None:
        status = 422 if form is not None and form.errors else 200
    return render_template(template, form=form, **context), status


def _office_choices() -> list[SelectChoice]:
    locale = str(get_locale())
    offices = db.session.scalars(sa.select(Office).order_by(Office.code))
    return [
        SelectChoice("", _("選んでください")),
        *(SelectChoice(office.code, office.name(locale)) for office in offices),
    ]


def _list_page(form: StaffCreateForm):
    staff_list = staff_service.list_staff()
    return _page(
        "office/admin/staff.html",
        form,
        staff_list=staff_list,
        pending=[member for member in staff_list if member.pending_roles],
        action_form=ButtonForm(),
        roles=STAFF_ROLES,
    )


def _show_link() -> bool:
    """Development shows the enrolment link on the page too (there is no mailbox); production never."""
    return current_app.config["MADOGUCHI_ENV"] == "development"


@bp.route("", methods=["GET", "POST"])
@staff_required("admin")
def staff_list():
    form = StaffCreateForm()
    form.office.choices = _office_choices()
    if form.validate_on_submit():
        try:
            staff, _password, _secret = staff_service.create_staff(
                form.email.data, form.display_name.data, form.office.data, form.roles.data, actor=g.staff
            )
        except ValidationFailed as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message)
            return _list_page(form)
        link = staff_service.send_enrolment_link(staff)
        return _page("office/admin/staff_created.html", staff=staff, status=201,
                     enrolment_link=link if _show_link() else None)
    return _list_page(form)


def _target(staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        abort(404)
    return staff


def _button_pressed() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400)


@bp.route("/<int:staff_id>", methods=["GET", "POST"])
@staff_required("admin")
def member(staff_id: int):
    """One member: roles (approver and admin wait for a second administrator), the My Number
    designation, a new enrolment link."""
    staff = _target(staff_id)
    form = StaffRolesForm(data={"roles": list(staff.roles or ()) + list(staff.pending_roles or ())})
    if form.validate_on_submit():
        try:
            pending = staff_service.change_roles(staff, form.roles.data, actor=g.staff)
        except ValidationFailed as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message, default="roles")
        else:
            flash(_("役割を変更しました。決裁者と管理者の役割は、別の管理者が確認すると有効になります。") if pending
                  else _("役割を変更しました。"), "success")
            return redirect(url_for(".member", staff_id=staff.id))
    return _page("office/admin/staff_member.html", form, member=staff, action_form=ButtonForm(),
                 roles=STAFF_ROLES)


@bp.post("/<int:staff_id>/confirm-roles")
@staff_required("admin")
def confirm_roles(staff_id: int):
    _button_pressed()
    staff = _target(staff_id)
    try:
        granted = staff_service.confirm_roles(staff, g.staff)
    except NotPermitted as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".staff_list"))
    if granted:
        flash(_("%(name)s さんの役割の付与を確認しました。", name=staff.display_name), "success")
    return redirect(url_for(".staff_list"))


@bp.post("/<int:staff_id>/withdraw-roles")
@staff_required("admin")
def withdraw_roles(staff_id: int):
    _button_pressed()
    staff = _target(staff_id)
    staff_service.withdraw_roles(staff, g.staff)
    flash(_("%(name)s さんへの役割の付与を取り消しました。", name=staff.display_name), "success")
    return redirect(url_for(".staff_list"))


@bp.post("/<int:staff_id>/mynumber-handler/<any('on', 'off'):state>")
@staff_required("admin")
def designate(staff_id: int, state: str):
    _button_pressed()
    staff = _target(staff_id)
    try:
        staff_service.designate_mynumber_handler(staff, state == "on", actor=g.staff)
    except NotPermitted as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".member", staff_id=staff.id))
    flash(_("%(name)s さんを個人番号事務取扱担当者に指定しました。", name=staff.display_name) if state == "on"
          else _("%(name)s さんの個人番号事務取扱担当者の指定を外しました。", name=staff.display_name), "success")
    return redirect(url_for(".member", staff_id=staff.id))


@bp.post("/<int:staff_id>/enrolment-link")
@staff_required("admin")
def resend_enrolment_link(staff_id: int):
    _button_pressed()
    staff = _target(staff_id)
    if not staff.is_active or (staff.password_set_at is not None and staff.is_enrolled):
        flash(_("この職員は登録を済ませています。"), "error")
        return redirect(url_for(".member", staff_id=staff.id))
    link = staff_service.send_enrolment_link(staff)
    flash(_("登録用のリンクを %(email)s に送りました。", email=staff.email), "success")
    if _show_link():
        flash(_("開発環境のため、リンクをここにも表示します：%(link)s", link=link), "info")
    return redirect(url_for(".member", staff_id=staff.id))


@bp.post("/<int:staff_id>/deactivate")
@staff_required("admin")
def deactivate_staff(staff_id: int):
    _button_pressed()
    staff = _target(staff_id)
    if staff.id == g.staff.id:
        flash(_("ご自身のアカウントは停止できません。別の管理者に依頼してください。"), "error")
        return redirect(url_for(".staff_list"))
    staff_service.deactivate(staff, actor=g.staff)
    flash(
        _(
            "%(name)s さんのアカウントを停止しました。サインイン中の画面も、次の操作で終了します。",
            name=staff.display_name,
        ),
        "success",
    )
    return redirect(url_for(".staff_list"))


@bp.post("/<int:staff_id>/reactivate")
@staff_required("admin")
def reactivate_staff(staff_id: int):
    _button_pressed()
    staff = _target(staff_id)
    staff_service.reactivate(staff, actor=g.staff)
    flash(_("%(name)s さんのアカウントを再開しました。", name=staff.display_name), "success")
    return redirect(url_for(".staff_list"))
