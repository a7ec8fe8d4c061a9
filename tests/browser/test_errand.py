"""The errand in real Chromium, where focus and the browser matter: after 「住所を検索」 the focus lands on
the address with a status message (with JavaScript and without); the consent boxes of the check page are
unticked, work from the keyboard and record what was chosen; the 元号 select shows its longest choice
whole; the pages about the service and a warned date pass axe-core and our own checks."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from app.jp import dates
from tests.browser.test_office_return_flow import Axe
from tests.support.browser import DESKTOP, PHONE, custom_problems, definitions, enable_axe, fill_draft, sign_in


class Audit(Axe):
    def check(self, page, name: str) -> None:
        super().check(page, name)
        self.problems += [f"[{name}] {line}" for line in custom_problems(page)]


def start_juminhyo(page, base: str) -> None:
    page.goto(base + "/forms/juminhyo")
    page.get_by_role("button", name="申請を始める").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("請求する方")


def check_lookup_focus(page, base: str) -> None:
    start_juminhyo(page, base)
    page.get_by_label("郵便番号").fill("100-0001")
    page.get_by_role("button", name="住所を検索").click()
    address = page.get_by_label(re.compile(r"^住所"))
    expect(address).to_be_focused()
    expect(address).to_have_value(re.compile(r"^東京都千代田区千代田"))
    status = page.get_by_role("status").filter(has_text="郵便番号から住所を入力しました")
    expect(status).to_be_visible()
    assert status.get_attribute("id") in address.get_attribute("aria-describedby").split()
    # A postcode with no address: the focus lands on the postcode, with its error.
    page.get_by_label("郵便番号").fill("999-9999")
    page.get_by_role("button", name="住所を検索").click()
    postcode = page.get_by_label("郵便番号")
    expect(postcode).to_be_focused()
    expect(postcode).to_have_attribute("aria-invalid", "true")


def test_after_the_postcode_lookup_the_focus_is_on_the_address(catalogue, new_resident, new_page):
    page = new_page(viewport=PHONE, has_touch=True)
    sign_in(page, catalogue.url, new_resident("yubin"))
    check_lookup_focus(page, catalogue.url)


def test_the_lookup_moves_the_focus_without_javascript_too(catalogue, new_resident, new_page):
    page = new_page(viewport=PHONE, java_script_enabled=False)
    sign_in(page, catalogue.url, new_resident("nojs"))
    check_lookup_focus(page, catalogue.url)


def test_the_era_select_shows_its_longest_choice_whole(catalogue, new_resident, new_page):
    page = new_page(viewport=PHONE, has_touch=True)
    sign_in(page, catalogue.url, new_resident("gengo"))
    start_juminhyo(page, catalogue.url)
    era = page.get_by_label("元号")
    # The text width of each choice in the select's own font, against the room inside the select (its
    # width less padding, border and the arrow, which takes about 1.5 em).
    room, longest = era.evaluate("""(select) => {
        const style = getComputedStyle(select);
        const context = document.createElement('canvas').getContext('2d');
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const widest = Math.max(...[...select.options].map((o) => context.measureText(o.text).width));
        const size = parseFloat(style.fontSize);
        const inner = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return [inner - 1.5 * size, widest];
    }""")
    assert room >= longest, (room, longest)


def test_consent_boxes_are_unticked_work_from_the_keyboard_and_are_recorded(catalogue, new_resident, new_page):
    from app.extensions import db
    from app.submissions.models import Submission

    page = new_page(viewport=DESKTOP)
    enable_axe(page.context)
    audit = Audit()
    sign_in(page, catalogue.url, new_resident("doui"))
    draft = fill_draft(page, catalogue.url, definitions(catalogue.app)["tenkyo"])
    page.goto(f"{catalogue.url}/drafts/{draft}/check")
    receivers = page.get_by_role("region", name="申請の内容を送付する機関")
    expect(receivers).to_contain_text("承認後、次の機関に送付します。")
    consent = receivers.get_by_role("checkbox", name="ひかり居宅介護支援事業所への送付に同意します")
    expect(consent).not_to_be_checked()
    expect(receivers.get_by_role("checkbox")).to_have_count(1)  # the city's own division asks no consent
    audit.check(page, "check page with a consent box")
    consent.focus()
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    page.keyboard.press("Space")
    expect(consent).not_to_be_checked()
    page.keyboard.press("Space")
    page.get_by_role("checkbox", name=re.compile("間違いがないことを確認しました")).check()
    page.get_by_role("button", name="申請する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    with catalogue.app.app_context():
        assert db.session.get(Submission, draft).destination_consents == {"kaigo-hikari": True}
    audit.check(page, "confirmation with next steps")
    audit.assert_clean()


def test_pages_about_the_service_and_a_warned_date(catalogue, new_resident, new_page):
    page = new_page(viewport=PHONE, has_touch=True)
    enable_axe(page.context)
    audit = Audit()
    for path, heading in (("/contact", "お問い合わせ"), ("/privacy", "個人情報の取り扱い"),
                          ("/accessibility", "ウェブアクセシビリティ方針")):
        page.goto(catalogue.url + "/")
        page.get_by_role("contentinfo").get_by_role("link", name=heading).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert page.url.endswith(path)
        audit.check(page, path)
    sign_in(page, catalogue.url, new_resident("osoi"))
    page.goto(catalogue.url + "/forms/tenkyo")
    audit.check(page, "start page with fee and time")
    page.get_by_role("button", name="申請を始める").click()
    page.goto(page.url.rsplit("/", 1)[0] + "/new_address")
    moved = dates.today_jst() - dt.timedelta(days=30)  # past the 14 days of a 転居届
    page.get_by_label("元号").select_option(label="西暦")
    page.get_by_label("年", exact=True).fill(str(moved.year))
    page.get_by_label("月", exact=True).fill(str(moved.month))
    page.get_by_label("日", exact=True).fill(str(moved.day))
    page.get_by_label("郵便番号").fill("1000001")
    page.get_by_label("新しい住所 ※必須", exact=True).fill("東京都千代田区千代田1-1")
    page.get_by_role("button", name="次へ進む").click()
    warning = page.get_by_role("alert").filter(has_text="ご確認ください")
    expect(warning).to_contain_text("届出期間経過")
    audit.check(page, "a late move date, warned")
    page.get_by_role("button", name="次へ進む").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("前の住所")
    audit.assert_clean()
