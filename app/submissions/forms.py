"""Small fixed forms of the portal (the pages of a definition are built in app.submissions.fields)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms.validators import DataRequired

from app.forms import BaseForm


class DeclarationForm(BaseForm):
    declaration = BooleanField(
        _l("上記の内容に間違いがないことを確認しました"),
        validators=[DataRequired(message=_l("申請する前に、内容の確認にチェックを入れてください。"))],
    )
