"""The app in real Chromium: it serves, its pages have the landmarks, and the keyboard reaches them."""

from __future__ import annotations

import json


def test_healthz_in_the_browser(live_server, browser_page):
    response = browser_page.goto(live_server("/healthz"))
    assert response is not None and response.status == 200
    body = json.loads(browser_page.locator("body").inner_text())
    assert body["database"] == "ok"
    assert body["migration"]["current"] == body["migration"]["head"]


def test_front_page_landmarks_and_skip_link(live_server, browser_page):
    response = browser_page.goto(live_server("/"))
    assert response is not None and response.status == 200
    assert browser_page.locator("html").get_attribute("lang") == "ja"
    assert browser_page.locator("main").count() == 1
    assert browser_page.get_by_role("main").count() == 1

    browser_page.keyboard.press("Tab")
    focused = browser_page.evaluate(
        "() => ({cls: document.activeElement.className, href: document.activeElement.getAttribute('href')})"
    )
    assert "skip-link" in focused["cls"].split(), f"the first Tab focused {focused}, not the skip link"
    target = focused["href"]
    assert target and target.startswith("#")
    assert browser_page.locator(target).evaluate("el => el.tagName") == "MAIN"
