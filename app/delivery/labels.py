"""The words people see for delivery methods, delivery states and delivery errors: one name per method
on every page, and a sentence for each kind of error (the error itself, in English for the operators,
stays behind 「技術的な詳細」)."""

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

#: (a fragment of a delivery's last error, what staff read), most specific first.
ERROR_WORDS = (
    ("is deactivated", _l("送付先が「無効」になっています。送付先の管理で確かめてください。")),
    ("has no e-mail address", _l("送付先にメールアドレスが登録されていません。")),
    ("has no fax number", _l("送付先にFAX番号が登録されていません。")),
    ("has no webhook URL", _l("送付先にシステム連携のURLが登録されていません。")),
    ("is not configured", _l("送付に必要なサーバーの設定がありません。システム管理者に連絡してください。")),
    ("refused the delivery", _l("相手先のシステムが受け取りを断りました。送付先の設定を確かめてください。")),
    ("recipient refused", _l("メールの宛先が受け取りを断りました。送付先のアドレスを確かめてください。")),
    ("lease expired while sending", _l("送付の途中で処理が止まりました。届いたかどうかを相手先に確かめてください。")),
    ("Connection refused", _l("相手先に接続できませんでした。時間をおいて自動で送り直します。")),
    ("timed out", _l("相手先から応答がありませんでした。時間をおいて自動で送り直します。")),
    ("HTTP 5", _l("相手先のシステムで問題が起きています。時間をおいて自動で送り直します。")),
)
GENERAL_ERROR = _l("送付できませんでした。技術的な詳細を確かめてください。")


def error_words(error: str | None) -> str:
    """A delivery's last error as a sentence for staff; "" without one."""
    if not error:
        return ""
    return str(next((words for fragment, words in ERROR_WORDS if fragment in error), GENERAL_ERROR))
