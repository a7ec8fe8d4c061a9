"""The pages about the service: contact (from offices.yaml), the privacy policy generated from the
catalogue, and the accessibility statement in the wording of みんなの公共サイト運用ガイドライン."""

from __future__ import annotations

import datetime as dt

import pytest

from app.config import ConfigurationError, load_config


def test_the_contact_page_lists_each_office_that_can_be_reached(client, catalogue):
    html = client.get("/contact").get_data(as_text=True)
    assert "市民課" in html and 'href="tel:0120000111"' in html and "0120-000-111" in html
    assert "平日 8時30分から17時15分まで" in html and "本庁舎1階 2番窓口" in html
    assert "こども家庭課" not in html  # offices.yaml says nothing of how to reach it


def test_the_privacy_page_says_per_form_what_is_collected_why_who_receives_it_and_for_how_long(client, catalogue):
    html = client.get("/privacy").get_data(as_text=True)
    for title in ("住民票の写し等交付請求書", "転居届", "印鑑登録証明書交付申請書"):
        assert title in html
    assert "住民基本台帳の住所を変更するため" in html  # 転居届's purpose
    assert "引っ越した日" in html and "生年月日" in html  # what is collected
    assert "あなたの個人番号（12桁）（暗号化して保管し、書類には印字しません）" in html
    assert "ひかり居宅介護支援事業所" in html and "ご本人が同意した場合だけ送付します" in html
    assert "上下水道課" in html and "第69条第2項第2号" in html
    assert "審査の結果が出てから5年" in html and "審査の結果が出てから3年" in html
    assert "ほかの機関には送付しません。" in html  # 住民票


def test_the_accessibility_statement_without_a_manual_test_says_配慮(client, catalogue):
    html = client.get("/accessibility").get_data(as_text=True)
    assert "JIS X 8341-3:2016 の適合レベルAAに準拠することを目標とします。" in html
    assert "適合レベルAAに配慮しています" in html and "一部準拠しています" not in html
    assert "axe-core" in html and "自動チェックで確かめられるのは達成基準の一部だけです" in html
    assert 'href="/contact"' in html


def test_the_accessibility_statement_after_a_manual_test_says_一部準拠_and_when(app, client, catalogue, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_A11Y_TESTED_ON", dt.date(2026, 11, 30))
    html = client.get("/accessibility").get_data(as_text=True)
    assert "適合レベルAAに一部準拠しています" in html and "2026/11/30" in html
    assert "に準拠しています" not in html  # never claimed without every criterion tested and published


def test_the_test_date_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MADOGUCHI_A11Y_TESTED_ON", "2026-11-30")
    assert load_config({"INSTANCE_PATH": str(tmp_path)})["MADOGUCHI_A11Y_TESTED_ON"] == dt.date(2026, 11, 30)
    monkeypatch.setenv("MADOGUCHI_A11Y_TESTED_ON", "30/11/2026")
    with pytest.raises(ConfigurationError):
        load_config({"INSTANCE_PATH": str(tmp_path)})
