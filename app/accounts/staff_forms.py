"""Forms of the office's sign-in and of the administrator's staff page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.forms import valid_email
from app.accounts.models import STAFF_ROLES
from app.accounts.roles import ROLE_DESCRIPTIONS
from app.accounts.staff_service import DISPLAY_NAME_MAX_LENGTH, normalize_code
from app.forms import BaseForm


def six_digits(form, field) -> None:
    code = normalize_code(field.data)
    if field.data and not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise ValidationError(_l("確認コードは、認証アプリに表示されている6桁の数字で入力してください。"))


class CodeForm(BaseForm):
    """The 6-digit code from the authenticator app (sign-in and enrolment)."""

    code = StringField(
        _l("確認コード（6桁）"),
        [InputRequired(_l("確認コードを入力してください。")), six_digits],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"},
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StaffCreateForm(BaseForm):
    email = EmailField(
        _l("メールアドレス"),
        [InputRequired(_l("メールアドレスを入力してください。")), valid_email],
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )
    display_name = StringField(
        _l("氏名"),
        [
            InputRequired(_l("氏名を入力してください。")),
            Length(
                max=DISPLAY_NAME_MAX_LENGTH,
                message=_l("氏名は%(count)s文字以内で入力してください。", count=DISPLAY_NAME_MAX_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "off"},
    )
    #: Choices (office codes and names) are set by the view from the offices table.
    office = SelectField(
        _l("所属する課"), [InputRequired(_l("所属する課を選んでください。"))], choices=[], validate_choice=False
    )
    roles = MultiCheckboxField(
        _l("役割"),
        choices=[SelectChoice(role, ROLE_DESCRIPTIONS[role]) for role in STAFF_ROLES],
        validate_choice=False,  # the service checks, and says what is wrong in the user's language
    )

    def validate_roles(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("役割を1つ以上選んでください。"))
