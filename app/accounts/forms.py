"""Forms for sign-up, sign-in and password reset.

Checks that need the database or the password policy live in ``app.accounts.service``; these forms
only make sure something usable was typed, so the messages for one problem come from one place.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired, ValidationError

from app.accounts import service
from app.errors import ValidationFailed
from app.forms import BaseForm
from app.jp import InvalidValue, parse_email


def valid_email(form, field) -> None:
    if not field.data:
        return
    try:
        parse_email(field.data)
    except InvalidValue as exc:
        raise ValidationError(str(exc.message)) from exc


class PasswordPolicyMixin:
    """Checks the new password with the service's policy while the form validates, so a short password
    and a mistyped confirmation are reported together. The service checks again before it saves."""

    def policy_email(self) -> str:
        raise NotImplementedError

    def validate_password(self, field) -> None:
        if not field.data:
            return
        try:
            service.check_password_policy(field.data, self.policy_email())
        except ValidationFailed as exc:
            raise ValidationError(exc.message) from exc


_EMAIL_KW = {"autocapitalize": "none", "spellcheck": "false"}
_EMAIL_REQUIRED = _l("メールアドレスを入力してください。")


class SignUpForm(PasswordPolicyMixin, BaseForm):
    email = EmailField(_l("メールアドレス"), [InputRequired(_EMAIL_REQUIRED), valid_email], render_kw=_EMAIL_KW)
    password = PasswordField(_l("パスワード"), [InputRequired(_l("パスワードを入力してください。"))])
    password_confirm = PasswordField(
        _l("パスワード（確認のため、もう一度）"),
        [
            InputRequired(_l("確認のため、同じパスワードをもう一度入力してください。")),
            EqualTo("password", _l("2つのパスワードが一致しません。同じパスワードを入力してください。")),
        ],
    )

    def policy_email(self) -> str:
        try:
            return service.normalize_email(self.email.data or "")
        except InvalidValue:
            return ""


class SignInForm(BaseForm):
    email = EmailField(_l("メールアドレス"), [InputRequired(_EMAIL_REQUIRED), valid_email], render_kw=_EMAIL_KW)
    password = PasswordField(_l("パスワード"), [InputRequired(_l("パスワードを入力してください。"))])


class ResetRequestForm(BaseForm):
    email = EmailField(_l("メールアドレス"), [InputRequired(_EMAIL_REQUIRED), valid_email], render_kw=_EMAIL_KW)


class ResetPasswordForm(PasswordPolicyMixin, BaseForm):
    #: Set by the view: the address of the account whose password is being reset.
    account_email = ""

    password = PasswordField(_l("新しいパスワード"), [InputRequired(_l("新しいパスワードを入力してください。"))])
    password_confirm = PasswordField(
        _l("新しいパスワード（確認のため、もう一度）"),
        [
            InputRequired(_l("確認のため、同じパスワードをもう一度入力してください。")),
            EqualTo("password", _l("2つのパスワードが一致しません。同じパスワードを入力してください。")),
        ],
    )

    def policy_email(self) -> str:
        return self.account_email


class ResendConfirmationForm(BaseForm):
    """Only a CSRF token: the resident is the one who just gave the right password (kept in the session)."""
