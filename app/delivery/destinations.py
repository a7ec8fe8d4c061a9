"""Destinations (送付先): the external offices approved documents are delivered to.

They come from ``destinations.yaml`` (loaded by ``flask catalogue sync``) and from the administrator's
page at /office/admin/destinations; never from free text typed into a case, because a mis-dialled fax
is a reportable leak. Rows are deactivated, never deleted: deliveries keep naming them.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.accounts.forms import BaseForm, valid_email
from app.accounts.staff_session import staff_required
from app.audit import service as audit
from app.delivery.models import CHANNELS, Destination
from app.extensions import db

# ---- the catalogue file ----------------------------------------------------------------------------

_LOCALIZED_NAME = {
    "type": "object",
    "properties": {"ja": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
    "required": ["ja", "en"],
    "additionalProperties": False,
}
FAX_RE = re.compile(r"^0[0-9-]{8,14}$")
# Wrapped in {"destinations": ...} so that problems read "destinations[2].fax", like the offices'.
_VALIDATOR = jsonschema.Draft202012Validator(
    {
        "type": "object",
        "properties": {
            "destinations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$", "maxLength": 40},
                        "name": _LOCALIZED_NAME,
                        "fax": {"type": "string", "pattern": FAX_RE.pattern},
                        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[A-Za-z]{2,}$"},
                        "webhook": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 500},
                        "channel": {"enum": list(CHANNELS)},
                    },
                    "required": ["code", "name", "channel"],
                    "additionalProperties": False,
                },
            }
        },
    }
)
#: Which contact each channel needs.
_NEEDS = {"fax_email": "fax", "fax_spool": "fax", "email": "email", "webhook": "webhook"}


def destination_problems(data) -> list[str]:
    """Problems with the contents of a destinations.yaml; [] when it is fine."""
    from app.catalogue.definition import schema_problems

    problems = schema_problems({"destinations": data}, _VALIDATOR)
    if problems:
        return problems
    places: dict[str, str] = {}
    for index, item in enumerate(data or []):
        place = f"destinations[{index}]"
        if item["code"] in places:
            problems.append(f"{place}.code: the code {item['code']!r} is already used at {places[item['code']]}")
        places.setdefault(item["code"], place)
        needed = _NEEDS[item["channel"]]
        if not item.get(needed):
            problems.append(f"{place}.{needed}: the channel {item['channel']!r} needs '{needed}'")
    return problems


def read_file(path: Path) -> tuple[dict[str, dict], list[str]]:
    """({code: item}, problems) from one destinations.yaml, problems prefixed with the file."""
    from app.catalogue.definition import load_yaml_file
    from app.catalogue.errors import DefinitionError

    try:
        data = load_yaml_file(path)
    except DefinitionError as error:
        return {}, [f"{path}: {problem}" for problem in error.problems]
    problems = destination_problems(data)
    if problems:
        return {}, [f"{path}: {problem}" for problem in problems]
    return {item["code"]: item for item in data or []}, []


def upsert(found: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Add or update the destinations of a synced file; returns (added, updated) codes. Flushes.

    A file never deactivates a destination (an administrator does), and a deactivated one stays so.
    """
    existing = {d.code: d for d in db.session.scalars(sa.select(Destination))}
    added, updated = [], []
    for code, item in found.items():
        values = {
            "name_ja": item["name"]["ja"], "name_en": item["name"]["en"], "fax_number": item.get("fax"),
            "email": item.get("email"), "webhook_url": item.get("webhook"), "channel": item["channel"],
        }
        row = existing.get(code)
        if row is None:
            db.session.add(Destination(code=code, **values))
            added.append(code)
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            updated.append(code)
    db.session.flush()
    return added, updated


def known_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Destination.code)))


# ---- lookups ----------------------------------------------------------------------------------------


def find(code: str) -> Destination | None:
    return db.session.scalar(sa.select(Destination).where(Destination.code == code))


def active() -> list[Destination]:
    return list(db.session.scalars(sa.select(Destination).where(Destination.is_active).order_by(Destination.code)))


def fax_digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


# ---- the administrator's page -----------------------------------------------------------------------

bp = Blueprint("destinations_admin", __name__, url_prefix="/office/admin/destinations")

CHANNEL_LABELS = {
    "fax_email": _l("FAX（メール送信サービス経由）"),
    "fax_spool": _l("FAX（FAXサーバー）"),
    "email": _l("メール（PDF添付）"),
    "webhook": _l("システム連携（Webhook）"),
}


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

    def validate_code(self, field) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", field.data or ""):
            raise ValidationError(_l("コードは英小文字で始め、英小文字・数字・-・_ で入力してください。"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        needed = {"fax": self.fax_number, "email": self.email, "webhook": self.webhook_url}[_NEEDS[self.channel.data]]
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
        db.session.commit()
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
                                                      "active": destination.is_active})
        db.session.commit()
        flash(_("送付先「%(name)s」を更新しました。", name=destination.name_ja), "success")
        return redirect(url_for(".index"))
    return _page(form, editing=destination)
