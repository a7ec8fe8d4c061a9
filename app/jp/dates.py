"""Dates relative to today in Japan: ``[+-]N(d|m|y)`` offsets, date bounds, and adding months or years.

"Today" is the date in Japan Standard Time whatever the server's zone: a resident filing at 00:30 JST is
filing on that day, not on the day before in UTC. A month or a year added to the 31st (or to 29
February) lands on the last day of the shorter month, as a person counts: 1 month after 31 January is
28 (or 29) February.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from app.i18n import JST

#: An offset from today: "+14d", "-1y", "+6m" (also "0d"). Days, months, years.
OFFSET_RE = re.compile(r"^(?P<sign>[+-]?)(?P<amount>[0-9]{1,4})(?P<unit>[dmy])$")
ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: What a bound may be, for the catalogue's schema: an ISO date or an offset.
BOUND_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[+-]?[0-9]{1,4}[dmy])$"


def today_jst() -> dt.date:
    """Today's date in Japan."""
    return dt.datetime.now(JST).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` (negative: back), clamped to the last day of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def shift(day: dt.date, offset: str) -> dt.date:
    """``day`` moved by an offset such as ``-14d``, ``+1m`` or ``-5y``."""
    match = OFFSET_RE.fullmatch(offset.strip())
    if match is None:
        raise ValueError(f"not an offset: {offset!r}")
    amount = int(match["amount"]) * (-1 if match["sign"] == "-" else 1)
    if match["unit"] == "d":
        return day + dt.timedelta(days=amount)
    return add_months(day, amount * (12 if match["unit"] == "y" else 1))


def resolve_bound(bound: str, today: dt.date) -> dt.date:
    """A bound of a date field as a date: an ISO date as it is, an offset counted from ``today``."""
    text = str(bound).strip()
    if ISO_DATE_RE.fullmatch(text):
        return dt.date.fromisoformat(text)
    return shift(today, text)
