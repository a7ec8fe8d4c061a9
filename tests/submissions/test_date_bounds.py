"""Dates with bounds, as the resident types them: a birth date after today is refused; a 転居届's move
date more than 14 days ago is warned of (届出期間経過), the resident goes on, and the check and case pages
keep saying so. "Today" is Japan's date of the request, fixed here so the test means one day."""

from __future__ import annotations

import datetime as dt

import pytest

from app.jp import dates
from app.submissions import date_bounds
from tests.support.filing import fill_pages, page_data
from tests.support.http import csrf_token

TODAY = dt.date(2026, 12, 5)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(dates, "today_jst", lambda: TODAY)


def start(client, slug: str) -> str:
    page = client.get(f"/forms/{slug}")
    return client.post(f"/forms/{slug}/start", data={"csrf_token": csrf_token(page)}).headers["Location"]


def post_page(client, location: str, page: dict, overrides: dict):
    data = page_data(page, {}, {})
    data.update(overrides)
    data.update(csrf_token=csrf_token(client.get(location)), action="next")
    return client.post(location, data=data, content_type="multipart/form-data")


def page_of(definition: dict, page_id: str) -> dict:
    return next(p for p in definition["pages"] if p["id"] == page_id)


def date_parts(name: str, era: str, year: str, month: str, day: str) -> dict:
    return {f"{name}-era": era, f"{name}-year": year, f"{name}-month": month, f"{name}-day": day}


@pytest.mark.parametrize("typed", [("reiwa", "10", "1", "1"), ("western", "2030", "1", "1"),
                                   ("reiwa", "8", "12", "6")])
def test_a_birth_date_after_today_is_refused(resident_client, definitions, typed):
    location = start(resident_client, "juminhyo")
    response = post_page(resident_client, location, page_of(definitions["juminhyo"], "requester"),
                         date_parts("requester_birth_date", *typed))
    assert response.status_code == 422
    assert "「生年月日」に、今日より後の日付は入力できません。" in response.get_data(as_text=True)


def test_a_birth_date_of_today_is_allowed(resident_client, definitions):
    location = start(resident_client, "juminhyo")
    response = post_page(resident_client, location, page_of(definitions["juminhyo"], "requester"),
                         date_parts("requester_birth_date", "reiwa", "8", "12", "5"))
    assert response.status_code == 302


def test_a_late_move_date_warns_and_the_resident_goes_on(resident_client, definitions, db):
    tenkyo = definitions["tenkyo"]
    location = start(resident_client, "tenkyo")
    first = post_page(resident_client, location, page_of(tenkyo, "filer"), {})
    location = first.headers["Location"]
    assert location.endswith("/pages/new_address")
    late = date_parts("move_date", "reiwa", "8", "11", "20")  # 15 days before 2026-12-05
    warned = post_page(resident_client, location, page_of(tenkyo, "new_address"), late)
    html = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert "引っ越した日から14日を過ぎています（届出期間経過）" in html
    assert "このまま「次へ進む」を押してください" in html
    assert 'name="acknowledged" value="move_date:2026-11-20"' in html
    # The answer is saved already; pressing on with the same date goes on.
    again = post_page(resident_client, location, page_of(tenkyo, "new_address"),
                      {**late, "acknowledged": "move_date:2026-11-20"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/pages/old_address")
    # The check page keeps saying so, beside the answer.
    check = resident_client.get(fill_pages(resident_client, again.headers["Location"], tenkyo))
    assert "注意：引っ越した日から14日を過ぎています（届出期間経過）" in check.get_data(as_text=True)
    # A different late date is warned of again.
    later = date_parts("move_date", "reiwa", "8", "11", "1")
    assert post_page(resident_client, location, page_of(tenkyo, "new_address"),
                     {**later, "acknowledged": "move_date:2026-11-20"}).status_code == 200


def test_a_move_within_14_days_or_in_the_future(resident_client, definitions):
    tenkyo = definitions["tenkyo"]
    location = post_page(resident_client, start(resident_client, "tenkyo"), page_of(tenkyo, "filer"), {}
                         ).headers["Location"]
    in_time = post_page(resident_client, location, page_of(tenkyo, "new_address"),
                        date_parts("move_date", "reiwa", "8", "11", "21"))
    assert in_time.status_code == 302
    future = post_page(resident_client, location, page_of(tenkyo, "new_address"),
                       date_parts("move_date", "reiwa", "8", "12", "6"))
    assert future.status_code == 422 and "今日より後の日付は入力できません" in future.get_data(as_text=True)
    too_old = post_page(resident_client, location, page_of(tenkyo, "new_address"),
                        date_parts("move_date", "reiwa", "3", "12", "4"))
    assert too_old.status_code == 422 and "2021年12月5日（令和3年）以降の日付を入力してください" in \
        too_old.get_data(as_text=True)


def test_the_bounds_count_from_the_day_they_are_given():
    field = {"name": "d", "type": "date", "label": {"ja": "日"}, "min": "-1m", "max": "2027-01-31",
             "warn_after": "+7d"}
    assert date_bounds.bounds(field, TODAY) == (dt.date(2026, 11, 5), dt.date(2027, 1, 31))
    assert date_bounds.date_problem(field, dt.date(2026, 11, 4), TODAY) is not None
    assert date_bounds.date_problem(field, dt.date(2027, 2, 1), TODAY) is not None
    assert date_bounds.date_problem(field, dt.date(2026, 12, 20), TODAY) is None
    assert "より後です" in str(date_bounds.date_warning(field, dt.date(2026, 12, 20), TODAY))
    assert date_bounds.date_warning(field, dt.date(2026, 12, 12), TODAY) is None
