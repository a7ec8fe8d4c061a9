"""The words people see for the machine names of states, history entries and recorded accesses (DESIGN:
Japanese labels on screen; English comes from the translation catalogue). Nothing here ever shows a
machine name: an unknown one reads as a plain word, never as itself."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import localized

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
#: The organisation seal's step key in the history (``app.workflow.service.ORG_SEAL``).
ORG_SEAL_STEP = "org-seal"


def action_label(action: str) -> str:
    """A history action or a recorded access (``case.view``, ``submission.approve``) as a word."""
    name = action.removeprefix("submission.")
    return str(ACTION_LABELS.get(name, _l("操作")))


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, _l("手続き中")))


def step_name(route: list | None, step_key: str | None) -> str | None:
    """The route step's name in the current language (「受付」), looked up by its key in the case's route."""
    for step in route or []:
        if step.get("step") == step_key:
            return localized(step["name"], str(get_locale() or "ja"))
    return None


def history_sentence(entry, route: list | None) -> str:
    """One entry of a case's history as a plain sentence: 「受付で確認しました。」「決裁されました。」."""
    action, key = entry.action, entry.step_key
    step = step_name(route, key)
    is_last = bool(route) and key == route[-1].get("step")
    if action == "submit":
        return _("申請が提出されました。")
    if action == "resubmit":
        return _("直した内容で、申請が再提出されました。")
    if action == "enter_route":
        return _("審査を始めました。")
    if action == "approve":
        if key == ORG_SEAL_STEP:
            return _("公印が押され、申請が承認されました。")
        if step and is_last:
            return _("%(step)sされました。", step=step)
        return _("%(step)sで確認しました。", step=step) if step else _("確認しました。")
    if action == "return":
        return _("%(step)sで、申請内容の補正をお願いしました（差し戻し）。", step=step) if step \
            else _("申請内容の補正をお願いしました（差し戻し）。")
    if action == "reject":
        return _("審査の結果、申請は却下されました。")
    if action == "withdraw":
        if entry.actor_type == "resident":
            return _("申請者が申請を取り下げました。")
        return _("期限までに再提出がなかったため、申請は取り下げになりました。")
    if action == "claim":
        return _("%(step)sの担当者が決まりました。", step=step) if step else _("担当者が決まりました。")
    if action == "reassign":
        return _("%(step)sの担当者を変更しました。", step=step) if step else _("担当者を変更しました。")
    if action == "comment":
        return _("コメントを書きました。")
    return _("手続きが進みました。")
