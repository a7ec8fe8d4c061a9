"""Japanese era dates (和暦): the era table, reading dates typed either way, and showing them.

Elderly residents know their birth date as 「昭和33年4月1日」, officials write 「R7.4.1」; the service
stores ISO dates and shows both calendars. The stdlib has no Japanese calendar, and five rows are
easier to audit than a dependency.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.jp.errors import InvalidValue
from app.jp.widths import normalise_digits, normalise_text


@dataclass(frozen=True)
class Era:
    key: str  # what forms submit: 'reiwa'
    code: str  # the letter officials abbreviate with: 'R'
    kanji: str
    romaji: str
    start: dt.date  # first day
    end: dt.date | None  # last day; None for the current era


ERAS = (
    Era("meiji", "M", "明治", "Meiji", dt.date(1868, 10, 23), dt.date(1912, 7, 29)),
    Era("taisho", "T", "大正", "Taisho", dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    Era("showa", "S", "昭和", "Showa", dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    Era("heisei", "H", "平成", "Heisei", dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    Era("reiwa", "R", "令和", "Reiwa", dt.date(2019, 5, 1), None),
)
WESTERN = "western"
#: The values a date field's calendar choice may take, newest era first as paper forms list them.
CALENDARS = (WESTERN,) + tuple(era.key for era in reversed(ERAS))

_BY_KEY = {era.key: era for era in ERAS}
_BY_NAME = {era.kanji: era for era in ERAS} | {era.code: era for era in ERAS}
# Single-character era ligatures (㍾㍽㍼㍻㋿) turn up when dates are pasted from office documents.
_LIGATURES = str.maketrans({"㍾": "明治", "㍽": "大正", "㍼": "昭和", "㍻": "平成", "㋿": "令和"})
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_SEP_YEAR = r"(?:年|[./-])"
_SEP_MONTH = r"(?:月|[./-])"
_ERA_DATE = re.compile(
    rf"(?P<era>明治|大正|昭和|平成|令和|[MTSHR])(?P<year>元|[0-9]{{1,2}}){_SEP_YEAR}"
    rf"(?P<month>[0-9]{{1,2}}){_SEP_MONTH}(?P<day>[0-9]{{1,2}})日?",
    re.IGNORECASE,
)
_WESTERN_DATE = re.compile(
    rf"(?:西暦)?(?P<year>[0-9]{{4}}){_SEP_YEAR}(?P<month>[0-9]{{1,2}}){_SEP_MONTH}(?P<day>[0-9]{{1,2}})日?"
)
_COMPACT_DATE = re.compile(r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})")


def era_of(day: dt.date) -> Era | None:
    """The era a date falls in; None before Meiji."""
    for era in reversed(ERAS):
        if day >= era.start:
            return era
    return None


def _era_year_text(year: int) -> str:
    return "元" if year == 1 else str(year)


def to_wareki(day: dt.date) -> str:
    """「令和7年4月1日」, with 元年 for an era's first year; a date before Meiji stays western."""
    era = era_of(day)
    if era is None:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{era.kanji}{_era_year_text(day.year - era.start.year + 1)}年{day.month}月{day.day}日"


def format_date(day: dt.date, locale: str) -> str:
    """Both calendars, for confirmation pages and documents: 「2025年4月1日（令和7年）」, "1 April 2025 (Reiwa 7)"."""
    era = era_of(day)
    era_year = day.year - era.start.year + 1 if era else None
    if locale.startswith("en"):
        text = f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
        return f"{text} ({era.romaji} {era_year})" if era else text
    text = f"{day.year}年{day.month}月{day.day}日"
    return f"{text}（{era.kanji}{_era_year_text(era_year)}年）" if era else text


def date_to_parts(day: dt.date) -> dict[str, str]:
    """The era/year/month/day boxes of a date field, in the date's own era, to show a stored answer again."""
    era = era_of(day)
    if era is None:
        return {"era": WESTERN, "year": str(day.year), "month": str(day.month), "day": str(day.day)}
    return {"era": era.key, "year": str(day.year - era.start.year + 1), "month": str(day.month), "day": str(day.day)}


def _box(value) -> str:
    return normalise_digits(str(value if value is not None else "")).replace(" ", "")


def date_from_parts(era: str, year, month, day) -> dt.date:
    """A date from a date field's boxes; ``era`` is 'western' or an era key, ``year`` may be 「元」."""
    era_key = normalise_text(str(era or "")).lower()
    if era_key not in CALENDARS:
        raise InvalidValue("date_era", _l("和暦（令和・平成・昭和など）か西暦かを選んでください。"))
    year_text = _box(year).removesuffix("年")
    month_text, day_text = _box(month).removesuffix("月"), _box(day).removesuffix("日")
    if era_key == WESTERN:
        if not re.fullmatch(r"[0-9]{4}", year_text) or year_text == "0000":
            raise InvalidValue("date_year", _l("西暦の年は4桁の数字で入力してください（例：1958）。"))
        era_year = gregorian_year = int(year_text)
    else:
        if year_text == "元":
            year_text = "1"
        if not re.fullmatch(r"[0-9]{1,2}", year_text) or int(year_text) == 0:
            raise InvalidValue(
                "date_year",
                _l("年は数字で入力してください（例：7）。元年は「元」または「1」と入力してください。"),
            )
        era_year = int(year_text)
        gregorian_year = _BY_KEY[era_key].start.year + era_year - 1
    if not re.fullmatch(r"[0-9]{1,2}", month_text) or not 1 <= int(month_text) <= 12:
        raise InvalidValue("date_month", _l("月は1から12までの数字で入力してください。"))
    if not re.fullmatch(r"[0-9]{1,2}", day_text) or not 1 <= int(day_text) <= 31:
        raise InvalidValue("date_day", _l("日は1から31までの数字で入力してください。"))
    month_number, day_number = int(month_text), int(day_text)
    last_day = calendar.monthrange(gregorian_year, month_number)[1]
    if day_number > last_day:
        raise InvalidValue(
            "date_no_such_day",
            _l("%(month)s月は%(last)s日までです。日付をご確認ください。", month=month_number, last=last_day),
        )
    result = dt.date(gregorian_year, month_number, day_number)
    if era_key != WESTERN:
        _check_within_era(_BY_KEY[era_key], era_year, result)
    return result


def _check_within_era(era: Era, era_year: int, day: dt.date) -> None:
    if era.start <= day and (era.end is None or day <= era.end):
        return
    actual = era_of(day)
    if actual is None:
        raise InvalidValue("date_before_meiji", _l("明治より前の日付は、西暦で入力してください。"))
    given = f"{era.kanji}{_era_year_text(era_year)}年{day.month}月{day.day}日"
    raise InvalidValue(
        "date_outside_era",
        # The English translation uses western/era_en; the Japanese one names both era dates.
        _l(
            "%(given)sは%(correct)sです。%(era)sで入力してください。",
            given=given,
            correct=to_wareki(day),
            era=actual.kanji,
            era_en=actual.romaji,
            western=format_date(day, "en").split(" (")[0],
        ),
    )


def parse_date(text: str) -> dt.date:
    """A date typed as free text in either calendar: 令和7年4月1日, R7.4.1, H31/4/30, 2025-04-01, 2025年4月1日."""
    compact = re.sub(r"\s+", "", normalise_digits(text or "")).translate(_LIGATURES)
    match = _ERA_DATE.fullmatch(compact)
    if match:
        era = _BY_NAME[match["era"].upper() if len(match["era"]) == 1 else match["era"]]
        return date_from_parts(era.key, match["year"], match["month"], match["day"])
    match = _WESTERN_DATE.fullmatch(compact) or _COMPACT_DATE.fullmatch(compact)
    if match:
        return date_from_parts(WESTERN, match["year"], match["month"], match["day"])
    raise InvalidValue("date_format", _l("日付は「令和7年4月1日」または「2025年4月1日」のように入力してください。"))
