"""A resident files the 住民票 request in real Chromium on a phone-sized screen, as a person would:
fields found by their visible labels, one mistake made and fixed through the error summary, the
address found from the postcode, the 確認画面, the declaration, the receipt number, the status page.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.support.browser import PHONE, definitions, fill_draft, sign_in, submissions_of, submit_history_count

RECEIPT_RE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")
CONTENTS_QUESTIONS = ("世帯主の氏名と続柄を載せますか", "本籍と筆頭者を載せますか",
                      "個人番号（マイナンバー）を載せますか")


def fill_name(page, family: str, given: str, family_kana: str, given_kana: str) -> None:
    page.get_by_label("姓", exact=True).fill(family)
    page.get_by_label("名", exact=True).fill(given)
    page.get_by_label("セイ（カタカナ）").fill(family_kana)
    page.get_by_label("メイ（カタカナ）").fill(given_kana)


def fill_date(page, era: str, year: str, month: str, day: str) -> None:
    page.get_by_label("元号").select_option(label=era)
    page.get_by_label("年", exact=True).fill(year)
    page.get_by_label("月", exact=True).fill(month)
    page.get_by_label("日", exact=True).fill(day)


def next_page(page) -> None:
    page.get_by_role("button", name="次へ進む").click()


def test_resident_files_juminhyo_on_a_phone(catalogue, new_resident, new_page):
    email = new_resident()
    page = new_page(viewport=PHONE, has_touch=True)

    # The catalogue (home) page lists the form; the start page asks to sign in first.
    page.goto(catalogue.url + "/")
    page.get_by_role("link", name="住民票の写し等交付請求書").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("住民票の写し等交付請求書")
    page.get_by_role("link", name="サインインして申請を始める").click()
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill("correct horse battery")
    page.get_by_role("main").get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("住民票の写し等交付請求書")
    page.get_by_role("button", name="申請を始める").click()

    # Page 1: 請求する方. The postcode is one digit short.
    expect(page.get_by_role("heading", level=1)).to_have_text("請求する方")
    expect(page.get_by_text("ステップ 1 / 5")).to_be_visible()
    fill_name(page, "山田", "花子", "ヤマダ", "ハナコ")
    fill_date(page, "昭和", "33", "4", "1")
    page.get_by_label("郵便番号").fill("10000")
    page.get_by_label(re.compile(r"^住所")).fill("東京都千代田区千代田１－１")
    page.get_by_label("電話番号").fill("090-1234-5678")
    next_page(page)

    assert page.title().startswith("エラー：")
    summary = page.get_by_role("alert").filter(has_text="入力内容に誤りがあります")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("入力内容に誤りがあります（1件）")
    postcode = page.get_by_label("郵便番号")
    expect(postcode).to_have_attribute("aria-invalid", "true")
    expect(postcode).to_have_value("10000")  # what was typed is kept
    expect(page.get_by_label("電話番号")).to_have_value("090-1234-5678")
    error_link = summary.get_by_role("link")
    expect(error_link).to_contain_text("郵便番号")
    error_link.click()
    expect(postcode).to_be_focused()
    description = postcode.get_attribute("aria-describedby").split()
    assert "requester_postcode-error" in description

    # Fixed, and the address found from it: the lookup fills the town, the resident adds the block.
    postcode.fill("１００－０００１")  # full-width, as an IME types it
    page.get_by_role("button", name="住所を検索").click()
    address = page.get_by_label(re.compile(r"^住所"))
    expect(address).to_have_value(re.compile(r"^東京都千代田区千代田"))
    expect(page.get_by_label("郵便番号")).not_to_have_attribute("aria-invalid", "true")
    address.fill(address.input_value() + "１－１")
    next_page(page)

    # Page 2: 必要な住民票.
    expect(page.get_by_role("heading", level=1)).to_have_text("必要な住民票")
    page.get_by_label("ご自身の分だけ").check()
    page.get_by_label("必要な通数").fill("1")
    next_page(page)

    # Page 3: 住民票に載せる事項 (three yes/no questions, each a fieldset).
    expect(page.get_by_role("heading", level=1)).to_have_text("住民票に載せる事項")
    for question in CONTENTS_QUESTIONS:
        page.get_by_role("group", name=question).get_by_label("いいえ").check()
    next_page(page)

    # Page 4: 使いみち.
    expect(page.get_by_role("heading", level=1)).to_have_text("使いみち")
    page.get_by_label("住民票の使いみち").select_option(label="年金の手続き")
    page.get_by_label("提出先").fill("日本年金機構")
    next_page(page)

    # Page 5: 受け取り方法.
    expect(page.get_by_role("heading", level=1)).to_have_text("受け取り方法")
    page.get_by_label("市民課の窓口で受け取る").check()
    next_page(page)

    # 確認画面: everything typed is shown, normalised; submitting needs the declaration.
    expect(page.get_by_role("heading", level=1)).to_have_text("入力内容の確認")
    main = page.get_by_role("main")
    for shown in ("山田", "ヤマダ", "100-0001", "東京都千代田区千代田", "090-1234-5678", "年金の手続き",
                  "日本年金機構"):
        expect(main).to_contain_text(shown)
    page.get_by_role("button", name="申請する").click()
    expect(page.get_by_role("alert").filter(has_text="入力内容に誤りがあります")).to_be_visible()
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="申請する").click()

    # The receipt number, then the status page.
    expect(page.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    receipt = page.locator("#receipt-number").inner_text().strip()
    assert RECEIPT_RE.match(receipt), receipt
    page.get_by_role("link", name="審査状況を見る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("審査状況")
    expect(page.get_by_role("main")).to_contain_text(receipt)
    expect(page.locator("#current-state")).to_have_text("提出済み")

    assert submissions_of(catalogue.app, email) == [("submitted", receipt)]
    assert not page.locator("[placeholder]").count()


def test_double_click_on_submit_files_once(catalogue, new_resident, new_page, monkeypatch):
    """Two presses of 申請する while the first is still on its way (a slow phone connection) file once.

    Chromium folds two clicks in the same instant into one request, so the server is slowed down a
    little to let the second click land while the first request is being handled, as on a phone.
    """
    from app.submissions import service

    original = service.submit

    def slow_submit(submission, consents=None):
        time.sleep(0.5)
        return original(submission, consents)

    monkeypatch.setattr(service, "submit", slow_submit)
    email = new_resident("taro")
    page = new_page(viewport=PHONE, has_touch=True)
    sign_in(page, catalogue.url, email)
    draft_id = fill_draft(page, catalogue.url, definitions(catalogue.app)["juminhyo"])

    page.goto(f"{catalogue.url}/drafts/{draft_id}/check")
    page.get_by_role("checkbox").check()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/submit") else None)
    button = page.get_by_role("button", name="申請する")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)  # raw clicks: Playwright's own click would wait for the first navigation
    page.wait_for_timeout(200)
    page.mouse.click(x, y)

    expect(page.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    receipt = page.locator("#receipt-number").inner_text().strip()
    assert len(posts) == 2, posts
    time.sleep(0.7)  # let the other request finish on the server
    assert submissions_of(catalogue.app, email) == [("submitted", receipt)]
    assert submit_history_count(catalogue.app, receipt) == 1


def test_filing_works_without_javascript(catalogue, new_resident, new_page):
    """JavaScript is only an extra: the whole 住民票 request, address lookup included, works without it."""
    email = new_resident("jiro")
    page = new_page(viewport=PHONE, java_script_enabled=False)
    sign_in(page, catalogue.url, email)
    page.goto(catalogue.url + "/forms/juminhyo")
    page.get_by_role("button", name="申請を始める").click()

    fill_name(page, "佐藤", "次郎", "サトウ", "ジロウ")
    fill_date(page, "西暦", "1950", "12", "31")
    page.get_by_label("郵便番号").fill("1000001")
    page.get_by_role("button", name="住所を検索").click()
    address = page.get_by_label(re.compile(r"^住所"))
    expect(address).to_have_value(re.compile(r"^東京都千代田区千代田"))
    address.fill(address.input_value() + "１－１")
    page.get_by_label("電話番号").fill("03-1234-5678")
    next_page(page)

    page.get_by_label("世帯全員の分").check()
    page.get_by_label("必要な通数").fill("2")
    next_page(page)
    for question in CONTENTS_QUESTIONS:
        page.get_by_role("group", name=question).get_by_label("はい" if "世帯主" in question else "いいえ").check()
    next_page(page)
    page.get_by_label("住民票の使いみち").select_option(label="その他")
    next_page(page)  # the revealed question 「その他の使いみち」 is asked on the same page
    expect(page.get_by_label("その他の使いみち")).to_be_visible()
    page.get_by_label("その他の使いみち").fill("奨学金の申請")
    next_page(page)
    page.get_by_label("住民登録の住所に郵送で受け取る").check()
    next_page(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("入力内容の確認")
    expect(page.get_by_role("main")).to_contain_text("奨学金の申請")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="申請する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    receipt = page.locator("#receipt-number").inner_text().strip()
    page.get_by_role("link", name="審査状況を見る").click()
    expect(page.locator("#current-state")).to_have_text("提出済み")
    assert submissions_of(catalogue.app, email) == [("submitted", receipt)]
