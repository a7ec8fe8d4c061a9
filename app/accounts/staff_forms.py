"""Forms of the office's sign-in and of the administrator's staff page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.forms import PasswordPolicyMixin, valid_email
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


def _roles_field():
    return MultiCheckboxField(
        _l("役割"),
        choices=[SelectChoice(role, ROLE_DESCRIPTIONS[role]) for role in STAFF_ROLES],
        validate_choice=False,  # the service checks, and says what is wrong in the user's language
    )


class StaffRolesForm(BaseForm):
    roles = _roles_field()

    def validate_roles(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("役割を1つ以上選んでください。"))


_NEW_PASSWORD = _l("新しいパスワード")
_CONFIRM = _l("新しいパスワード（確認のため、もう一度）")


class StaffPasswordForm(PasswordPolicyMixin, BaseForm):
    """The member's own password: set with the enrolment link, or changed later (with the current one)."""

    #: Set by the view: the member's address (the policy refuses a password equal to it).
    account_email = ""

    password = PasswordField(_NEW_PASSWORD, [InputRequired(_l("新しいパスワードを入力してください。"))])
    password_confirm = PasswordField(_CONFIRM, [
        InputRequired(_l("確認のため、同じパスワードをもう一度入力してください。")),
        EqualTo("password", _l("2つのパスワードが一致しません。同じパスワードを入力してください。")),
    ])

    def policy_email(self) -> str:
        return self.account_email


class StaffChangePasswordForm(PasswordPolicyMixin, BaseForm):
    account_email = ""

    current_password = PasswordField(_l("現在のパスワード"),
                                     [InputRequired(_l("現在のパスワードを入力してください。"))])
    password = PasswordField(_NEW_PASSWORD, [InputRequired(_l("新しいパスワードを入力してください。"))])
    password_confirm = PasswordField(_CONFIRM, [
        InputRequired(_l("確認のため、同じパスワードをもう一度入力してください。")),
        EqualTo("password", _l("2つのパスワードが一致しません。同じパスワードを入力してください。")),
    ])

    def policy_email(self) -> str:
        return self.account_email


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
