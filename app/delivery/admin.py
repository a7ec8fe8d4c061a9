"""The administrator's page of destinations (送付先): /office/admin/destinations.

Where documents go changes only with two administrators (four-eyes, review L11): a new destination,
or a change of its channel, fax number, address, URL or activation, waits in ``pending_change`` until a
second administrator confirms it. Names, deactivation and marking a destination as outside the city
(so that it needs the resident's consent) apply at once. Production takes only ``https://`` webhook
URLs, never to this machine or a link-local address (cloud metadata).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.accounts.forms import valid_email
from app.accounts.staff_session import staff_required
from app.audit import service as audit
from app.delivery.channels.webhook import internal_host
from app.delivery.destinations import FAX_RE, NEEDS, find
from app.delivery.labels import CHANNEL_LABELS
from app.delivery.models import CHANNELS, Destination
from app.extensions import db
from app.forms import BaseForm, ButtonForm

bp = Blueprint("destinations_admin", __name__, url_prefix="/office/admin/destinations")
#: The columns that say where documents go: changing them needs a second administrator.
#: ``external`` among them: clearing it would send documents outside the city without the resident's consent.
ROUTING = ("channel", "fax_number", "email", "webhook_url", "is_active", "external")


def _http_url(form, field) -> None:
    if field.data:
        parts = urlsplit(field.data)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(_l("http:// または https:// で始まるURLを入力してください。"))
        if current_app.config["MADOGUCHI_ENV"] == "production" and (
                parts.scheme != "https" or internal_host(parts.hostname)):
            raise ValidationError(_l("本番環境では、このサーバー自身以外の https:// のURLだけを登録できます。"))


def _fax(form, field) -> None:
    if field.data and not FAX_RE.fullmatch(field.data):
        raise ValidationError(_l("FAX番号は、0から始まる数字（ハイフン可）で入力してください。"))


class DestinationForm(BaseForm):
    code = StringField(_l("コード"), [InputRequired(_l("コードを入力してください。")), Length(max=40)],
                       render_kw={"autocapitalize": "none", "spellcheck": "false"})
    name_ja = StringField(_l("名称（日本語）"), [InputRequired(_l("名称を入力してください。")), Length(max=200)])
    name_en = StringField(_l("名称（英語）"), [InputRequired(_l("英語の名称を入力してください。")), Length(max=200)])
    channel = SelectField(_l("送付方法"), choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS])
    fax_number = StringField(_l("FAX番号"), [Optional(), _fax], render_kw={"inputmode": "tel"})
    email = EmailField(_l("メールアドレス"), [Optional(), valid_email, Length(max=254)])
    webhook_url = StringField(_l("WebhookのURL"), [Optional(), _http_url, Length(max=500)])
    is_active = BooleanField(_l("有効（送付先として使う）"), default=True)
    external = BooleanField(_l("市役所の外の機関（申請者の同意がある場合だけ送付する）"), default=False)

    def validate_code(self, field) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", field.data or ""):
            raise ValidationError(_l("コードは英小文字で始め、英小文字・数字・-・_ で入力してください。"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        needed = {"fax": self.fax_number, "email": self.email, "webhook": self.webhook_url}[NEEDS[self.channel.data]]
        if valid and not needed.data:
            # Named: the error summary lists this message away from its field, where 「この項目」 says nothing.
            needed.errors = [*needed.errors, _("この送付方法では、%(field)sが必要です。", field=needed.label.text)]
            return False
        return valid


def _form_values(form: DestinationForm) -> dict:
    return {
        "name_ja": form.name_ja.data, "name_en": form.name_en.data, "channel": form.channel.data,
        "fax_number": form.fax_number.data or None, "email": form.email.data or None,
        "webhook_url": form.webhook_url.data or None, "is_active": bool(form.is_active.data),
        "external": bool(form.external.data),
    }


def _page(form: DestinationForm, editing: Destination | None = None):
    status = 422 if form.errors else 200
    listing = list(db.session.scalars(sa.select(Destination).order_by(Destination.code)))
    return render_template("office/admin/destinations.html", form=form, editing=editing, destinations=listing,
                           channel_labels=CHANNEL_LABELS, action_form=ButtonForm()), status


def _request_change(destination: Destination, wanted: dict) -> bool:
    """Keep the routing columns that would change as a pending change; True if there is one now."""
    change = {key: value for key, value in wanted.items() if key in ROUTING and getattr(destination, key) != value}
    destination.pending_change = change or None
    destination.change_requested_by_id = g.staff.id if change else None
    db.session.flush()
    if change:
        audit.record("destination.change_request", actor_type="staff", actor_id=g.staff.id,
                     subject_type="destination", subject_id=destination.id, data={"fields": sorted(change)})
    return bool(change)


@bp.route("/", methods=["GET", "POST"])
@staff_required("admin")
def index():
    form = DestinationForm()
    if form.validate_on_submit():
        if find(form.code.data) is not None:
            form.code.errors = [_("このコードはすでに使われています。")]
            return _page(form)
        values = _form_values(form)
        # Registered inactive: it receives documents once a second administrator confirms it.
        destination = Destination(code=form.code.data, **{**values, "is_active": False})
        db.session.add(destination)
        db.session.flush()
        audit.record("destination.create", actor_type="staff", actor_id=g.staff.id, subject_type="destination",
                     subject_id=destination.id, data={"channel": destination.channel})
        if values["is_active"]:
            _request_change(destination, {"is_active": True})
        flash(_("送付先「%(name)s」を登録しました。別の管理者が確認すると、送付に使われます。",
                name=destination.name_ja), "success")
        return redirect(url_for(".index"))
    return _page(form)


@bp.route("/<int:destination_id>", methods=["GET", "POST"])
@staff_required("admin")
def edit(destination_id: int):
    destination = db.session.get(Destination, destination_id) or abort(404)
    form = DestinationForm(obj=destination)
    # The code is what definitions and deliveries name: it never changes once used.
    form.code.data = destination.code
    if form.validate_on_submit():
        values = _form_values(form)
        # At once: the names, and a deactivation (stopping deliveries never needs four eyes).
        destination.name_ja, destination.name_en = values["name_ja"], values["name_en"]
        if not values["is_active"]:
            destination.is_active = False
        if values["external"]:  # asking for consent where none was asked is never less safe
            destination.external = True
        audit.record("destination.update", actor_type="staff", actor_id=g.staff.id, subject_type="destination",
                     subject_id=destination.id, data={"channel": destination.channel,
                                                      "active": destination.is_active,
                                                      "external": destination.external})
        if _request_change(destination, values):
            flash(_("送付先「%(name)s」の変更を受け付けました。送付方法・宛先・有効化は、別の管理者が確認すると反映されます。",
                    name=destination.name_ja), "success")
        else:
            flash(_("送付先「%(name)s」を更新しました。", name=destination.name_ja), "success")
        return redirect(url_for(".index"))
    return _page(form, editing=destination)


@bp.post("/<int:destination_id>/confirm")
@staff_required("admin")
def confirm(destination_id: int):
    """A second administrator applies a pending change of where documents go."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    destination = db.session.get(Destination, destination_id) or abort(404)
    change = dict(destination.pending_change or {})
    if not change:
        return redirect(url_for(".index"))
    if destination.change_requested_by_id == g.staff.id:
        flash(_("ご自身が依頼した変更は、別の管理者が確認してください。"), "error")
        return redirect(url_for(".index"))
    for key, value in change.items():
        if key in ROUTING:
            setattr(destination, key, value)
    destination.pending_change = None
    destination.change_requested_by_id = None
    audit.record("destination.change_confirm", actor_type="staff", actor_id=g.staff.id, subject_type="destination",
                 subject_id=destination.id, data={"fields": sorted(change)})
    flash(_("送付先「%(name)s」の変更を確認し、反映しました。", name=destination.name_ja), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:destination_id>/withdraw")
@staff_required("admin")
def withdraw(destination_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    destination = db.session.get(Destination, destination_id) or abort(404)
    if destination.pending_change:
        audit.record("destination.change_withdraw", actor_type="staff", actor_id=g.staff.id,
                     subject_type="destination", subject_id=destination.id,
                     data={"fields": sorted(destination.pending_change)})
    destination.pending_change = None
    destination.change_requested_by_id = None
    flash(_("送付先「%(name)s」の変更の依頼を取り消しました。", name=destination.name_ja), "success")
    return redirect(url_for(".index"))
