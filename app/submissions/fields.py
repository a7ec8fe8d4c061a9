"""Form definitions → WTForms classes, one per page, and answers ↔ form data.

Each field type of the catalogue maps to a WTForms field whose validators call the Japanese
normalisers of ``app.jp``; the normalised value is what ``answers_from_form`` stores.
Composite types (name, date, group) are sub-forms, so their parts get their own labels and errors.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import (
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import FieldList
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app import jp
from app.forms import BaseForm, SubForm
from app.i18n import localized
from app.submissions import date_bounds

ERAS = [
    SelectChoice("", _l("選択")),
    SelectChoice("western", _l("西暦")),
    SelectChoice("reiwa", _l("令和")),
    SelectChoice("heisei", _l("平成")),
    SelectChoice("showa", _l("昭和")),
    SelectChoice("taisho", _l("大正")),
    SelectChoice("meiji", _l("明治")),
]
YES_NO = [SelectChoice("yes", _l("はい")), SelectChoice("no", _l("いいえ"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _required_message(label: str | None = None, *, choose: bool = False):
    """Name the question, so a summary of several errors says which is which."""
    if label and choose:
        return _l("「%(label)s」を選んでください。", label=label)
    if label:
        return _l("「%(label)s」を入力してください。", label=label)
    return _l("入力してください。")


class _Check:
    """A WTForms validator that runs one catalogue check and keeps the normalised value."""

    def __init__(self, spec: dict, parse):
        self.spec = spec
        self.parse = parse

    def __call__(self, form, field):
        value = field.data
        if value in (None, "", []):
            if self.spec.get("required", True):
                choose = self.spec["type"] in ("select", "radio", "yesno", "checkboxes")
                raise ValidationError(_required_message(str(field.label.text), choose=choose))
            field.normalised = None
            return
        try:
            field.normalised = self.parse(value)
        except jp.InvalidValue as exc:
            raise ValidationError(str(exc.message)) from None


def _parser(spec: dict):
    kind = spec["type"]
    if kind == "number":
        return lambda v: jp.parse_integer(v, min=spec.get("min"), max=spec.get("max"))
    if kind == "postcode":
        return jp.parse_postcode
    if kind == "phone":
        return jp.parse_phone
    if kind == "email":
        return jp.parse_email
    if kind == "mynumber":
        return jp.validate_mynumber
    if kind in ("text", "textarea", "address"):
        limit = spec.get("max_length", 2000 if kind == "textarea" else 200)

        def text(value):
            if len(value) > limit:
                raise jp.InvalidValue("too_long", _l("%(limit)s文字以内で入力してください。", limit=limit))
            return value

        return text
    if kind in ("select", "radio", "yesno"):
        return lambda v: v
    if kind == "checkboxes":
        return lambda v: list(v)
    raise ValueError(f"no parser for {kind}")


def _name_form(spec: dict):
    required = spec.get("required", True)

    def part(label, kana: bool):
        def check(form, field):
            if not field.data:
                if required:
                    raise ValidationError(_required_message(str(label)))
                return
            if kana:
                try:
                    field.data = jp.parse_kana(field.data)
                except jp.InvalidValue as exc:
                    raise ValidationError(str(exc.message)) from None
            elif len(field.data) > 50:
                raise ValidationError(_l("50文字以内で入力してください。"))

        return StringField(label, validators=[check])

    attrs = {
        # Names are kept exactly as typed (after trimming spaces): no Unicode normalisation of kanji.
        "family": part(_l("姓"), False),
        "given": part(_l("名"), False),
        "family_kana": part(_l("セイ（カタカナ）"), True),
        "given_kana": part(_l("メイ（カタカナ）"), True),
    }
    return type("NameForm", (SubForm,), attrs)


def _date_form(spec: dict, label: str, locale: str):
    required = spec.get("required", True)

    def validate_day(form, field):
        parts = [form.year.data, form.month.data, form.day.data]
        if not any(parts):
            if required:
                raise ValidationError(_required_message(label))
            form.normalised = None
            return
        if not all(parts):
            raise ValidationError(_l("年・月・日をすべて入力してください。"))
        era = form.era.data
        if not era and len(jp.normalise_digits(parts[0]).strip()) == 4:
            era = "western"  # 「1958」 needs no era to be understood
        try:
            day = jp.date_from_parts(era, *parts)
        except jp.InvalidValue as exc:
            raise ValidationError(str(exc.message)) from None
        # Refused outside the field's bounds (a birth date in the future); warnings come later, on a
        # valid page (app.submissions.filling), and let the resident go on.
        problem = date_bounds.date_problem(spec, day, date_bounds.today(), locale, label)
        if problem is not None:
            raise ValidationError(str(problem))
        form.normalised = day

    attrs = {
        "era": SelectField(_l("元号"), choices=ERAS, default="", validate_choice=False),
        "year": StringField(_l("年")),
        "month": StringField(_l("月")),
        "day": StringField(_l("日"), validators=[validate_day]),
    }
    return type("DateForm", (SubForm,), attrs)


def build_field(spec: dict, locale: str):
    """The unbound WTForms field for one catalogue field."""
    kind = spec["type"]
    label = localized(spec["label"], locale)
    hint = localized(spec.get("hint"), locale) or None
    kwargs = {"description": hint}
    if kind == "name":
        return FormField(_name_form(spec), label=label, **kwargs)
    if kind == "date":
        return FormField(_date_form(spec, label, locale), label=label, **kwargs)
    if kind == "group":
        item_attrs = {sub["name"]: build_field(sub, locale) for sub in spec["fields"]}
        item_form = type(f"Item_{spec['name']}", (SubForm,), item_attrs)
        return FieldList(FormField(item_form), label=label, min_entries=0, max_entries=spec.get("max_items"), **kwargs)
    if kind == "file":
        return FileField(label, **kwargs)
    validators = [_Check(spec, _parser(spec))]
    if kind in ("select",):
        choices = [SelectChoice("", _l("選択してください")), *_choices(spec, locale)]
        return SelectField(label, choices=choices, validators=validators, **kwargs)
    if kind == "radio":
        allowed = {choice.value for choice in _choices(spec, locale)}
        return RadioField(label, choices=_choices(spec, locale), validators=[*validators, _one_of(allowed)],
                          validate_choice=False, **kwargs)
    if kind == "yesno":
        return RadioField(label, choices=YES_NO, validators=[*validators, _one_of({"yes", "no"})],
                          validate_choice=False, **kwargs)
    if kind == "checkboxes":
        return MultiCheckboxField(label, choices=_choices(spec, locale), validators=validators, **kwargs)
    if kind == "textarea":
        return TextAreaField(label, validators=validators, **kwargs)
    return StringField(label, validators=validators, **kwargs)


def _one_of(allowed: set[str]):
    """One kind message for a value that is not among the options (a forged or stale post)."""

    def check(form, field):
        if field.data not in (None, "") and field.data not in allowed:
            raise ValidationError(
                _l("「%(label)s」は、表示されている選択肢から選んでください。", label=field.label.text)
            )

    return check


def _choices(spec: dict, locale: str) -> list[SelectChoice]:
    return [
        SelectChoice(str(option["value"]), localized(option["label"], locale)) for option in spec.get("options", [])
    ]


def _option_labels(spec: dict, locale: str) -> dict[str, str]:
    return {choice.value: choice.label for choice in _choices(spec, locale)}


def page_form_class(fields: list[dict], locale: str):
    attrs = {spec["name"]: build_field(spec, locale) for spec in fields}
    return type("Page", (BaseForm,), attrs)


# ---- answers ↔ form data -------------------------------------------------------------------------


def form_data_from_answers(fields: list[dict], answers: dict) -> dict:
    """Pre-fill data for a page form from stored (normalised) answers."""
    data = {}
    for spec in fields:
        value = answers.get(spec["name"])
        if value is None or spec["type"] in ("file", "mynumber"):
            continue
        data[spec["name"]] = _field_data(spec, value)
    return data


def _field_data(spec: dict, value):
    kind = spec["type"]
    if kind == "date":
        # Shown in the era the date falls in: residents think of birth dates as 昭和33年, not 1958.
        return jp.date_to_parts(dt.date.fromisoformat(value))
    if kind == "group":
        return [{sub["name"]: _field_data(sub, item.get(sub["name"])) for sub in spec["fields"]
                 if item.get(sub["name"]) is not None} for item in value]
    return value


def answers_from_form(fields: list[dict], form) -> dict:
    """Normalised answers of a validated page form (file and My Number fields are handled by the service)."""
    answers = {}
    for spec in fields:
        if spec["type"] in ("file", "mynumber"):
            continue
        answers[spec["name"]] = _field_answer(spec, form[spec["name"]])
    return answers


def _field_answer(spec: dict, field):
    kind = spec["type"]
    if kind == "name":
        return {key: field.form[key].data or "" for key in ("family", "given", "family_kana", "given_kana")}
    if kind == "date":
        normalised = getattr(field.form, "normalised", None)
        return normalised.isoformat() if normalised else None
    if kind == "group":
        return [
            {sub["name"]: _field_answer(sub, entry.form[sub["name"]]) for sub in spec["fields"]}
            for entry in field.entries
        ]
    return getattr(field, "normalised", None)


# ---- display ------------------------------------------------------------------------------------


def display_value(spec: dict, value, locale: str, *, sensitive_value: str | None = None) -> str | Markup:
    """How an answer reads on the check page, the status page and the office case page."""
    kind = spec["type"]
    if kind == "mynumber":
        if sensitive_value:
            return jp.mask_mynumber(sensitive_value)
        return _l("（入力なし）") if not value else _l("入力済み")
    if value in (None, "", [], {}):
        return _l("（入力なし）")
    if kind == "name":
        text = f"{value.get('family', '')} {value.get('given', '')}".strip()
        kana = f"{value.get('family_kana', '')} {value.get('given_kana', '')}".strip()
        return f"{text}（{kana}）" if kana else text
    if kind == "date":
        return jp.format_date(dt.date.fromisoformat(value), locale)
    if kind in ("select", "radio"):
        return _option_labels(spec, locale).get(str(value), value)
    if kind == "yesno":
        return str(_l("はい") if value == "yes" else _l("いいえ"))
    if kind == "checkboxes":
        names = _option_labels(spec, locale)
        return "、".join(names.get(v, v) for v in value)
    if kind == "file":
        return f"{value.get('filename')}（{_human_size(value.get('size', 0))}）"
    if kind == "group":
        return str(_l("%(count)s件", count=len(value)))
    return str(value)


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, size // 1024)} KB"
