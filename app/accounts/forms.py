"""Forms for sign-up, sign-in and password reset, and the project's base form.

Checks that need the database or the password policy live in ``app.accounts.service``; these forms
only make sure something usable was typed, so the messages for one problem come from one place.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, ValidationError

from app.accounts import service
from app.catalogue.errors import InvalidValue
from app.catalogue.jp import parse_email
from app.errors import ValidationFailed

# str.strip() already removes Unicode whitespace, the ideographic space U+3000 included; these are
# the invisible characters a copy-paste from a mail or a PDF also brings along.
_INVISIBLE = "\u200b\ufeff"


def strip_surrounding(value):
    if isinstance(value, str):
        return value.strip().strip(_INVISIBLE).strip()
    return value


class BaseForm(FlaskForm):
    """Every form of the service.

    * Text fields lose surrounding whitespace of both widths: a trailing space from the IME must not
      make an answer wrong. Passwords are left exactly as typed (a space can be part of one).
    * No HTML ``required`` attribute: the browser's own bubbles are small, vanish, and speak the
      browser's language; the server's error summary and field messages are what residents see.
    """

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                options["filters"] = (*options.get("filters", ()), strip_surrounding)
            declared = options.get("render_kw") or unbound_field.kwargs.get("render_kw") or {}
            options["render_kw"] = {"required": False, **declared}
            return unbound_field.bind(form=form, **options)

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) pairs for the error summary, in the order the fields appear."""
        return [(field.id, str(field.errors[0])) for field in self if field.errors]

    def add_error(self, field_name: str | None, message: str, default: str = "email") -> None:
        field = self[field_name] if field_name and field_name in self else self[default]
        field.errors = [*field.errors, message]


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
