"""The words people see for delivery methods and delivery states: one name per method on every page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "fax_email": _l("FAX（メール送信サービス経由）"),
    "fax_spool": _l("FAX（FAXサーバー）"),
    "email": _l("メール（PDF添付）"),
    "webhook": _l("システム連携（Webhook）"),
}

STATE_LABELS = {
    "pending": _l("送付待ち"),
    "sending": _l("送付中"),
    "sent": _l("送付済み"),
    "unknown": _l("確認が必要（送付済みか不明）"),
    "dead": _l("送付できませんでした"),
}
