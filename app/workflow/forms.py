"""Back-office forms: decisions, comments, reassignment, queue filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length


class ActionForm(FlaskForm):
    """Claim, approve, reveal: a button that needs only CSRF protection."""


class ReturnForm(FlaskForm):
    message = TextAreaField(
        _l("申請者へのお知らせ（直してほしい箇所と直し方）"),
        validators=[DataRequired(_l("差し戻す理由と、直してほしい箇所を入力してください。")), Length(max=2000)],
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("却下の理由（申請者に表示されます）"),
        validators=[DataRequired(_l("却下の理由を入力してください。")), Length(max=2000)],
    )


class CommentForm(FlaskForm):
    text = TextAreaField(
        _l("内部コメント（職員のみ表示）"),
        validators=[DataRequired(_l("コメントを入力してください。")), Length(max=2000)],
    )


class ReassignForm(FlaskForm):
    assignee = SelectField(_l("新しい担当者"), coerce=int, validate_choice=True)
