"""Languages and the time zone: the two locales, text given as ``{ja, en}``, Japan Standard Time.

No Flask imports except in ``select_locale`` (Flask-Babel's locale selector).
"""

from __future__ import annotations

import datetime as dt

from flask import has_request_context, session

LOCALES = ("ja", "en")
#: Japan Standard Time (no daylight saving): dates printed on documents and shown on pages.
JST = dt.timezone(dt.timedelta(hours=9), "JST")


def localized(text: dict | None, locale: str) -> str:
    """``text[locale]``, falling back to Japanese (the one language every text of the service has)."""
    if not text:
        return ""
    language = (locale or "ja").replace("-", "_").split("_")[0]
    return text.get(language) or text.get("ja", "")


def select_locale() -> str:
    """The request's language: the one chosen in this session, else Japanese. The worker and the CLI
    render mail with ``force_locale``."""
    if not has_request_context():
        return "ja"
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else "ja"


def jst_text(value: dt.datetime | str | None, pattern: str = "%Y/%m/%d %H:%M") -> str:
    """A moment (a datetime, or ISO text with its offset) as Japan's wall-clock time; naive means UTC."""
    if value is None or value == "":
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(JST).strftime(pattern)
