"""Dates relative to today in Japan: offsets, bounds, months and years that end early."""

from __future__ import annotations

import datetime as dt

import pytest

from app.jp import dates

D = dt.date


@pytest.mark.parametrize(("day", "offset", "expected"), [
    (D(2026, 12, 5), "-14d", D(2026, 11, 21)),
    (D(2026, 12, 5), "+0d", D(2026, 12, 5)),
    (D(2026, 12, 5), "0d", D(2026, 12, 5)),
    (D(2026, 1, 31), "+1m", D(2026, 2, 28)),  # the last day of the shorter month
    (D(2028, 1, 31), "+1m", D(2028, 2, 29)),
    (D(2028, 2, 29), "-1y", D(2027, 2, 28)),
    (D(2026, 3, 31), "-1m", D(2026, 2, 28)),
    (D(2026, 12, 5), "+1m", D(2027, 1, 5)),
    (D(2026, 12, 5), "-120y", D(1906, 12, 5)),
])  # fmt: skip
def test_shift(day, offset, expected):
    assert dates.shift(day, offset) == expected


@pytest.mark.parametrize("bad", ["14", "-14w", "+d", "1.5y", "", "--1d"])
def test_shift_refuses_what_is_not_an_offset(bad):
    with pytest.raises(ValueError):
        dates.shift(D(2026, 1, 1), bad)


def test_a_bound_is_an_iso_date_or_an_offset_from_the_given_day():
    assert dates.resolve_bound("2026-04-01", D(2030, 1, 1)) == D(2026, 4, 1)
    assert dates.resolve_bound("-14d", D(2026, 12, 5)) == D(2026, 11, 21)


def test_today_is_the_date_in_japan():
    in_japan = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
    assert dates.today_jst() in (in_japan, in_japan + dt.timedelta(days=1))  # a run across midnight
