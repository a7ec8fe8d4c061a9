"""Accessibility of the resident pages in real Chromium on a phone-sized screen (390 px wide).

Each page, in each state a resident meets it (empty, filled, with validation errors), is checked with
axe-core for WCAG 2.0/2.1 A and AA (JIS X 8341-3:2016 AA is WCAG 2.0 AA) and with our own checks
that axe does not make: no placeholder as a label, every control labelled, tap targets at least
44 × 44 CSS px (research/jp_design.md §3.4, §4.2). A failure lists every problem on every page.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.browser import (
    PHONE,
    REVEAL_ALL,
    axe_violations,
    custom_problems,
    definitions,
    enable_axe,
    fill_draft,
    make_resident,
    sign_in,
)

# Empty every field a resident can type into or choose, as if nothing had been answered.
CLEAR_FORM = """
() => {
  const form = document.querySelector('main form[enctype]');
  for (const el of form.querySelectorAll('input, textarea, select')) {
    if (el.type === 'hidden' || el.type === 'file') continue;
    if (el.type === 'radio' || el.type === 'checkbox') el.checked = false;
    else if (el.tagName === 'SELECT') { if (el.querySelector('option[value=""]')) el.value = ''; }
    else el.value = '';
  }
}
"""


class Audit:
    """Collects the problems of every page checked; ``assert_clean`` fails listing them all."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        self.checked.append(name)
        for line in axe_violations(self.page) + custom_problems(self.page):
            self.problems.append(f"[{name}] {line}")

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} accessibility problems on {len(self.checked)} pages:\n" + (
            "\n".join(self.problems))


@pytest.fixture(scope="module")
def resident_page(catalogue, chromium):
    """A signed-in resident on a phone, with a draft of each form whose every page and question shows."""
    email = make_resident(catalogue.app, f"a11y-{uuid.uuid4().hex[:8]}@example.jp")
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE, has_touch=True)
    context.set_default_timeout(10_000)
    enable_axe(context)
    page = context.new_page()
    from app.extensions import limiter

    limiter.reset()
    sign_in(page, catalogue.url, email)
    forms = definitions(catalogue.app)
    drafts = {slug: fill_draft(page, catalogue.url, forms[slug], REVEAL_ALL[slug]) for slug in REVEAL_ALL}
    yield page, drafts, forms
    context.close()


def test_public_pages(catalogue, new_page):
    page = new_page(viewport=PHONE, has_touch=True)
    enable_axe(page.context)
    audit = Audit(page)
    page.goto(catalogue.url + "/")
    audit.check("home")
    page.get_by_label("手続きの名前で探す").fill("住民票")
    page.get_by_role("search").get_by_role("button", name="検索").click()
    audit.check("home, search results")
    page.goto(catalogue.url + "/forms/juminhyo")
    audit.check("start page, signed out")
    page.goto(catalogue.url + "/account/sign-in")
    audit.check("sign-in")
    page.get_by_role("main").get_by_role("button", name="サインイン").click()
    assert page.title().startswith("エラー")
    audit.check("sign-in with errors")
    page.goto(catalogue.url + "/account/sign-up")
    audit.check("sign-up")
    page.get_by_role("main").get_by_role("button", name="アカウントを作成する").click()
    assert page.title().startswith("エラー")
    audit.check("sign-up with errors")
    page.goto(catalogue.url + "/forms/no-such-form")
    audit.check("not found")
    audit.assert_clean()


@pytest.mark.parametrize("slug", list(REVEAL_ALL))
def test_every_page_of_the_form(catalogue, resident_page, slug):
    page, drafts, forms = resident_page
    audit = Audit(page)
    page.goto(f"{catalogue.url}/forms/{slug}")
    audit.check(f"{slug} start page")
    for spec in forms[slug]["pages"]:
        page.goto(f"{catalogue.url}/drafts/{drafts[slug]}/pages/{spec['id']}")
        assert f"/pages/{spec['id']}" in page.url, f"{slug}/{spec['id']} is not shown to this draft"
        audit.check(f"{slug}/{spec['id']}")
        page.evaluate(CLEAR_FORM)
        page.get_by_role("button", name="次へ進む").click()
        if spec["id"] in ("movers", "mynumber"):  # nothing on these pages is required
            continue
        assert page.title().startswith("エラー："), f"{slug}/{spec['id']}: no errors after emptying it"
        audit.check(f"{slug}/{spec['id']} with errors")
    audit.assert_clean()


def test_check_confirmation_and_status(catalogue, chromium):
    email = make_resident(catalogue.app, f"a11y-{uuid.uuid4().hex[:8]}@example.jp")
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE, has_touch=True)
    context.set_default_timeout(10_000)
    enable_axe(context)
    try:
        page = context.new_page()
        audit = Audit(page)
        sign_in(page, catalogue.url, email)
        page.goto(catalogue.url + "/submissions")
        audit.check("my submissions, empty")
        draft = fill_draft(page, catalogue.url, definitions(catalogue.app)["juminhyo"], REVEAL_ALL["juminhyo"])
        page.goto(f"{catalogue.url}/drafts/{draft}/check")
        audit.check("check page")
        page.get_by_role("button", name="申請する").click()
        assert page.title().startswith("エラー")
        audit.check("check page with errors")
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="申請する").click()
        page.get_by_role("heading", name="申請を受け付けました").wait_for()
        audit.check("confirmation")
        page.get_by_role("link", name="審査状況を見る").click()
        page.get_by_role("heading", name="審査状況").wait_for()
        audit.check("status")
        page.goto(catalogue.url + "/submissions")
        audit.check("my submissions")
        page.goto(catalogue.url + "/account")
        audit.check("account")
        audit.assert_clean()
    finally:
        context.close()
