"""The project's form bases: every form strips surrounding whitespace the same way and draws no HTML
``required`` attribute; ``ButtonForm`` is a button that needs only its CSRF token.

* Text fields lose surrounding whitespace of both widths and the invisible characters a copy-paste
  from a mail or a PDF brings along: a trailing space from the IME must not make an answer wrong.
  Passwords are left exactly as typed (a space can be part of one), and nothing inside a value is
  touched, so names keep every code point.
* No HTML ``required`` attribute: the browser's own bubbles are small, vanish, and speak the
  browser's language; the server's error summary and field messages are what people see.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, PasswordField, StringField

# str.strip() already removes Unicode whitespace, the ideographic space U+3000 included; these are
# the invisible characters a copy-paste also brings along.
_INVISIBLE = "\u200b\ufeff"


def strip_surrounding(value):
    """The one whitespace filter of the service's forms."""
    if isinstance(value, str):
        return value.strip().strip(_INVISIBLE).strip()
    return value


def _bind_field(form, unbound_field, options):
    field_class = unbound_field.field_class
    if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
        options["filters"] = (strip_surrounding, *unbound_field.kwargs.get("filters", ()), *options.get("filters", ()))
    declared = options.get("render_kw") or unbound_field.kwargs.get("render_kw") or {}
    options["render_kw"] = {"required": False, **declared}
    return unbound_field.bind(form=form, **options)


class BaseForm(FlaskForm):
    """Every top-level form of the service (CSRF-protected)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            return _bind_field(form, unbound_field, options)

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) pairs for the error summary, in the order the fields appear."""
        return [(field.id, str(field.errors[0])) for field in self if field.errors]

    def add_error(self, field_name: str | None, message: str, default: str = "email") -> None:
        field = self[field_name] if field_name and field_name in self else self[default]
        field.errors = [*field.errors, message]


class SubForm(Form):
    """A part of a form (a name's four boxes, a date, one item of a repeating group): no CSRF token of
    its own, the same filters as ``BaseForm``."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            return _bind_field(form, unbound_field, options)


class ButtonForm(BaseForm):
    """A button that needs only CSRF protection (claim, approve, withdraw, retry, deactivate...)."""
