"""The names staff roles go by on screen: short in lists and histories, described where they are granted."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: In lists, histories and the resident's "who looked at my case" table.
ROLE_LABELS = {
    "clerk": _l("担当"),
    "approver": _l("決裁者"),
    "counter_clerk": _l("窓口職員"),
    "admin": _l("管理者"),
}

#: On the administrator's staff page, where a role is granted.
ROLE_DESCRIPTIONS = {
    "clerk": _l("担当（審査）"),
    "approver": _l("決裁者（課長など）"),
    "counter_clerk": _l("窓口職員（代理入力）"),
    "admin": _l("管理者"),
}


def role_labels(roles: list[str]) -> str:
    return "、".join(str(ROLE_LABELS.get(role, role)) for role in roles)


def role_description(role: str) -> str:
    return str(ROLE_DESCRIPTIONS.get(role, role))
