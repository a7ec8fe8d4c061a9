"""Bounds of a date field: dates refused (``not_future``, ``not_past``, ``min``, ``max``) and dates that
only warn (``warn_before``, ``warn_after``, with the definition's ``warning`` text).

A bound is an ISO date or an offset from today (``-14d``, ``+1m``, ``-120y``), today being the date in
Japan of the request (``app.jp.dates.today_jst``). A refusal is a field error; a warning is said on the
page and the resident may go on (a 転居届 filed after its 14 days is late, 届出期間経過, not invalid).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l

from app.i18n import localized
from app.jp import dates, format_date


def today() -> dt.date:
    """The request's day in Japan (looked up at each call, so a test may fix it)."""
    return dates.today_jst()


def bounds(field: dict, on: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(earliest, latest) allowed date of ``field`` on the day ``on``; None where open."""
    earliest = on if field.get("not_past") else dates.resolve_bound(field["min"], on) if "min" in field else None
    latest = on if field.get("not_future") else dates.resolve_bound(field["max"], on) if "max" in field else None
    return earliest, latest


def date_problem(field: dict, day: dt.date, on: dt.date, locale: str = "ja", label: str | None = None):
    """The message refusing ``day`` for ``field``, or None when it is allowed."""
    label = label or localized(field.get("label"), locale)
    earliest, latest = bounds(field, on)
    if latest is not None and day > latest:
        if field.get("not_future"):
            return _l("「%(label)s」に、今日より後の日付は入力できません。日付をご確認ください。", label=label)
        return _l("「%(label)s」は、%(date)sまでの日付を入力してください。", label=label,
                  date=format_date(latest, locale))
    if earliest is not None and day < earliest:
        if field.get("not_past"):
            return _l("「%(label)s」に、今日より前の日付は入力できません。日付をご確認ください。", label=label)
        return _l("「%(label)s」は、%(date)s以降の日付を入力してください。", label=label,
                  date=format_date(earliest, locale))
    return None


def date_warning(field: dict, day: dt.date, on: dt.date, locale: str = "ja"):
    """What to tell the resident about ``day`` (they may go on), or None."""
    label = localized(field.get("label"), locale)
    own = localized(field.get("warning"), locale) or None
    if "warn_before" in field and day < dates.resolve_bound(field["warn_before"], on):
        limit = dates.resolve_bound(field["warn_before"], on)
        return own or _l("「%(label)s」が%(date)sより前です。このまま進むこともできます。", label=label,
                         date=format_date(limit, locale))
    if "warn_after" in field and day > dates.resolve_bound(field["warn_after"], on):
        limit = dates.resolve_bound(field["warn_after"], on)
        return own or _l("「%(label)s」が%(date)sより後です。このまま進むこともできます。", label=label,
                         date=format_date(limit, locale))
    return None
