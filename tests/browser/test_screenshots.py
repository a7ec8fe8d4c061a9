"""Full-page screenshots of the main resident pages, on a phone (390 px) and a desktop (1280 px), for a
person to look at. Runs only when asked for, with the folder to write to:

    MADOGUCHI_SCREENSHOTS=/tmp/madoguchi-shots scripts/test tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import DESKTOP, PHONE, definitions, fill_draft, sign_in

SHOTS = os.environ.get("MADOGUCHI_SCREENSHOTS")

pytestmark = pytest.mark.skipif(not SHOTS, reason="set MADOGUCHI_SCREENSHOTS=<folder> to take screenshots")


@pytest.mark.parametrize("label, viewport", [("390", PHONE), ("1280", DESKTOP)])
def test_screenshots(catalogue, new_resident, new_page, label, viewport):
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page = new_page(viewport=viewport, device_scale_factor=1)

    def shot(name: str) -> None:
        page.screenshot(path=str(folder / f"{label}-{name}.png"), full_page=True)

    page.goto(catalogue.url + "/")
    shot("1-home")
    email = new_resident("shots")
    sign_in(page, catalogue.url, email)
    draft = fill_draft(page, catalogue.url, definitions(catalogue.app)["juminhyo"])
    page.goto(f"{catalogue.url}/drafts/{draft}/pages/requester")
    page.get_by_label("郵便番号").fill("10000")
    page.get_by_label("電話番号").fill("")
    page.get_by_role("button", name="次へ進む").click()
    shot("2-page-with-errors")
    page.get_by_label("郵便番号").fill("1000001")
    page.get_by_label("電話番号").fill("090-1234-5678")
    page.get_by_role("button", name="次へ進む").click()
    page.goto(f"{catalogue.url}/drafts/{draft}/pages/subject")
    shot("3-page-with-choices")
    page.goto(f"{catalogue.url}/drafts/{draft}/check")
    shot("4-check")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="申請する").click()
    page.get_by_role("heading", name="申請を受け付けました").wait_for()
    shot("5-confirmation")
    page.get_by_role("link", name="審査状況を見る").click()
    page.get_by_role("heading", name="審査状況").wait_for()
    shot("6-status")
