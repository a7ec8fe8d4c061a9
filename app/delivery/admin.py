"""The administrator's page of destinations (送付先): /office/admin/destinations."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.accounts.forms import valid_email
from app.accounts.staff_session import staff_required
from app.audit import service as audit
from app.delivery.destinations import FAX_RE, NEEDS, find
from app.delivery.labels import CHANNEL_LABELS
from app.delivery.models import CHANNELS, Destination
from app.extensions import db
from app.forms import BaseForm

bp = Blueprint("destinations_admin", __name__, url_prefix="/office/admin/destinations")

def _http_url(form, field) -> None:
    if field.data:
        parts = urlsplit(field.data)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(_l("http:// または https:// で始まるURLを入力してください。"))


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
                           channel_labels=CHANNEL_LABELS), status


@bp.route("/", methods=["GET", "POST"])
@staff_required("admin")
def index():
    form = DestinationForm()
    if form.validate_on_submit():
        if find(form.code.data) is not None:
            form.code.errors = [_("このコードはすでに使われています。")]
            return _page(form)
        destination = Destination(code=form.code.data, **_form_values(form))
        db.session.add(destination)
        db.session.flush()
        audit.record("destination.create", actor_type="staff", actor_id=g.staff.id, subject_type="destination",
                     subject_id=destination.id, data={"channel": destination.channel})
        flash(_("送付先「%(name)s」を登録しました。", name=destination.name_ja), "success")
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
        for key, value in _form_values(form).items():
            setattr(destination, key, value)
        audit.record("destination.update", actor_type="staff", actor_id=g.staff.id, subject_type="destination",
                     subject_id=destination.id, data={"channel": destination.channel,
                                                      "active": destination.is_active,
                                                      "external": destination.external})
        flash(_("送付先「%(name)s」を更新しました。", name=destination.name_ja), "success")
        return redirect(url_for(".index"))
    return _page(form, editing=destination)
