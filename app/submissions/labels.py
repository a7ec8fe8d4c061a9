"""The words people see for the machine names of states and history actions (DESIGN: Japanese labels on
screen; English comes from the translation catalogue)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "draft": _l("下書き"),
    "submitted": _l("提出済み"),
    "in_review": _l("審査中"),
    "returned": _l("差し戻し"),
    "rejected": _l("却下"),
    "approved": _l("承認済み"),
    "withdrawn": _l("取下げ"),
}

ACTION_LABELS = {
    "submit": _l("提出"),
    "enter_route": _l("審査開始"),
    "approve": _l("承認"),
    "return": _l("差し戻し"),
    "resubmit": _l("再提出"),
    "reject": _l("却下"),
    "withdraw": _l("取下げ"),
    "claim": _l("担当の引き受け"),
    "reassign": _l("担当変更"),
    "comment": _l("コメント"),
    "case.view": _l("閲覧"),
    "mynumber.read": _l("個人番号の閲覧"),
    "mynumber.refused": _l("個人番号の閲覧（拒否されました）"),
    "attachment.read": _l("添付ファイルの閲覧"),
    "document.read": _l("決裁文書の閲覧"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))
