"""Era dates: both directions, every era boundary to the day, and the ways residents and officials type them."""

from __future__ import annotations

import datetime as dt

import pytest

from app import jp
from app.jp import InvalidValue

D = dt.date

# Written out by hand from the official boundaries, not derived from the code's table.
BOUNDARIES = [
    ("明治元年10月23日", D(1868, 10, 23)),
    ("明治45年7月29日", D(1912, 7, 29)),
    ("大正元年7月30日", D(1912, 7, 30)),
    ("大正15年12月24日", D(1926, 12, 24)),
    ("昭和元年12月25日", D(1926, 12, 25)),
    ("昭和64年1月7日", D(1989, 1, 7)),
    ("平成元年1月8日", D(1989, 1, 8)),
    ("平成31年4月30日", D(2019, 4, 30)),
    ("令和元年5月1日", D(2019, 5, 1)),
]
# A date written in the wrong era, and how the same day is written in its own era.
ACROSS_BOUNDARIES = [
    ("meiji", "45", "7", "30", "大正元年7月30日"),
    ("taisho", "元", "7", "29", "明治45年7月29日"),
    ("taisho", "15", "12", "25", "昭和元年12月25日"),
    ("showa", "1", "12", "24", "大正15年12月24日"),
    ("showa", "64", "1", "8", "平成元年1月8日"),
    ("heisei", "1", "1", "7", "昭和64年1月7日"),
    ("heisei", "31", "5", "1", "令和元年5月1日"),
    ("reiwa", "元", "4", "30", "平成31年4月30日"),
    ("showa", "70", "1", "1", "平成7年1月1日"),
]
ERA_KEYS = {"明治": "meiji", "大正": "taisho", "昭和": "showa", "平成": "heisei", "令和": "reiwa"}


def refused(function, *args) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        function(*args)
    return caught.value


@pytest.mark.parametrize(("wareki", "day"), BOUNDARIES)
def test_every_era_boundary_both_ways(wareki, day):
    assert jp.to_wareki(day) == wareki
    assert jp.parse_date(wareki) == day
    era, rest = wareki[:2], wareki[2:]
    year, rest = rest.split("年")
    month, rest = rest.split("月")
    assert jp.date_from_parts(ERA_KEYS[era], year, month, rest.rstrip("日")) == day


@pytest.mark.parametrize(("era", "year", "month", "day", "correct"), ACROSS_BOUNDARIES)
def test_a_date_outside_its_era_is_refused_with_the_right_era(era, year, month, day, correct):
    error = refused(jp.date_from_parts, era, year, month, day)
    assert error.code == "date_outside_era"
    assert correct in str(error.message)


def test_the_heisei_31_may_message_tells_the_resident_what_to_write():
    error = refused(jp.date_from_parts, "heisei", "31", "5", "1")
    assert str(error.message) == "平成31年5月1日は令和元年5月1日です。令和で入力してください。"


def test_dates_before_meiji_must_be_western():
    assert refused(jp.date_from_parts, "meiji", "1", "10", "22").code == "date_before_meiji"
    assert jp.date_from_parts("western", "1868", "10", "22") == D(1868, 10, 22)
    assert jp.to_wareki(D(1868, 10, 22)) == "1868年10月22日"


@pytest.mark.parametrize(("year", "expected"), [("元", D(2019, 5, 1)), ("1", D(2019, 5, 1)), (1, D(2019, 5, 1))])
def test_first_year_as_gan_or_one(year, expected):
    assert jp.date_from_parts("reiwa", year, "5", "1") == expected


def test_full_width_parts_are_accepted():
    assert jp.date_from_parts("showa", "３３", "４", "１") == D(1958, 4, 1)
    assert jp.date_from_parts("western", "１９５８", "０４", "０１") == D(1958, 4, 1)


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        (("western", "2025", "2", "30"), "date_no_such_day"),
        (("western", "2023", "2", "29"), "date_no_such_day"),
        (("reiwa", "7", "4", "31"), "date_no_such_day"),
        (("western", "2025", "13", "1"), "date_month"),
        (("western", "2025", "0", "1"), "date_month"),
        (("western", "2025", "1", "32"), "date_day"),
        (("western", "2025", "1", ""), "date_day"),
        (("western", "25", "1", "1"), "date_year"),
        (("western", "元", "1", "1"), "date_year"),
        (("reiwa", "0", "1", "1"), "date_year"),
        (("reiwa", "", "1", "1"), "date_year"),
        (("kyoto", "7", "1", "1"), "date_era"),
    ],
)
def test_impossible_dates_are_refused(parts, code):
    assert refused(jp.date_from_parts, *parts).code == code


def test_no_such_day_says_how_long_the_month_is():
    assert str(refused(jp.date_from_parts, "western", "2025", "2", "30").message) == (
        "2月は28日までです。日付をご確認ください。"
    )
    assert jp.date_from_parts("western", "2024", "2", "29") == D(2024, 2, 29)


@pytest.mark.parametrize(
    "text",
    [
        "令和7年4月1日",
        "R7.4.1",
        "R07/04/01",
        "r7.4.1",
        "R7-4-1",
        "2025-04-01",
        "2025/4/1",
        "2025年4月1日",
        "2025.4.1",
        "20250401",
        "令和７年４月１日",
        "Ｒ７．４．１",
        "２０２５／０４／０１",
        "２０２５ー４ー１",
        " 令和 7年 4月 1日 ",
        "㋿7年4月1日",
    ],
)
def test_parse_date_reads_every_usual_way_of_writing_a_date(text):
    assert jp.parse_date(text) == D(2025, 4, 1)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("令和元年5月1日", D(2019, 5, 1)),
        ("H31.4.30", D(2019, 4, 30)),
        ("S64.1.7", D(1989, 1, 7)),
        ("H1.1.8", D(1989, 1, 8)),
        ("T15.12.24", D(1926, 12, 24)),
        ("M45.7.29", D(1912, 7, 29)),
        ("㍻元年1月8日", D(1989, 1, 8)),
    ],
)
def test_parse_date_era_abbreviations(text, day):
    assert jp.parse_date(text) == day


@pytest.mark.parametrize(
    ("text", "code"), [("", "date_format"), ("明日", "date_format"), ("H31.5.1", "date_outside_era")]
)
def test_parse_date_refuses_what_is_not_a_date(text, code):
    assert refused(jp.parse_date, text).code == code


def test_to_wareki_uses_gannen_for_the_first_year():
    assert jp.to_wareki(D(2025, 4, 1)) == "令和7年4月1日"
    assert jp.to_wareki(D(2019, 12, 31)) == "令和元年12月31日"


@pytest.mark.parametrize(
    ("day", "ja", "en"),
    [
        (D(2025, 4, 1), "2025年4月1日（令和7年）", "1 April 2025 (Reiwa 7)"),
        (D(2019, 5, 1), "2019年5月1日（令和元年）", "1 May 2019 (Reiwa 1)"),
        (D(1958, 4, 1), "1958年4月1日（昭和33年）", "1 April 1958 (Showa 33)"),
    ],
)
def test_format_date_shows_both_calendars(day, ja, en):
    assert jp.format_date(day, "ja") == ja
    assert jp.format_date(day, "en") == en


def test_date_to_parts_round_trips_through_date_from_parts():
    for _text, day in BOUNDARIES:
        parts = jp.date_to_parts(day)
        assert jp.date_from_parts(parts["era"], parts["year"], parts["month"], parts["day"]) == day
