"""Drive the resident portal over HTTP the way a person fills a form: page by page, as typed.

Values are entered the way residents really type them (full-width digits, half-width kana,
hiragana for katakana fields), so the normalisation is exercised on every run.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from app import jp
from app.catalogue.definition import is_shown
from app.demo.answers import demo_value
from app.submissions.receivers import CONSENT_FIELD
from tests.support.http import csrf_token

TINY_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
VALID_MYNUMBER = "1234 5678 9018"


def typed_value(field: dict) -> dict:
    """Form data (name → value) for one field as a resident would type it."""
    name, kind = field["name"], field["type"]
    options = [o["value"] for o in field.get("options", [])]
    if kind == "name":
        return {f"{name}-family": "山田", f"{name}-given": "花子", f"{name}-family_kana": "ﾔﾏﾀﾞ",
                f"{name}-given_kana": "はなこ"}
    if kind == "date":
        if not any(key in field for key in ("min", "max", "not_past", "warn_before", "warn_after")):
            return {f"{name}-era": "showa", f"{name}-year": "３３", f"{name}-month": "5", f"{name}-day": "1"}
        # A day the field's bounds allow and that warns of nothing (a move a few days ago), typed in 和暦.
        parts = jp.date_to_parts(dt.date.fromisoformat(demo_value(field)))
        return {f"{name}-{part}": value for part, value in parts.items()}
    if kind == "group":
        data = {}
        for index in range(max(1, field.get("min_items", 0))):
            for sub in field["fields"]:
                for key, value in typed_value(sub).items():
                    data[f"{name}-{index}-{key}"] = value
        return data
    values = {
        "text": "デモ入力",
        "textarea": "窓口のテストです。",
        "number": "１",
        "postcode": "〒１００－０００１",
        "address": "東京都千代田区千代田１－１",
        "phone": "０３－１２３４－５６７８",
        "email": "hanako@example.jp",
        "select": options[0] if options else "",
        "radio": options[0] if options else "",
        "checkboxes": options[:1],
        "yesno": "no",
        "mynumber": VALID_MYNUMBER,
        "file": (io.BytesIO(TINY_PDF), "ininjo.pdf"),
    }
    return {name: values[kind]}


def page_data(page: dict, answers: dict, overrides: dict) -> dict:
    data = {}
    for field in page["fields"]:
        if not is_shown(field.get("show_if"), {**answers, **overrides}):
            continue
        if field.get("required", True) is False and field["type"] == "group" and not field.get("min_items"):
            continue
        data.update(typed_value(field))
    data.update({k: v for k, v in overrides.items() if any(k == f["name"] or k.startswith(f["name"] + "-")
                                                          for f in page["fields"])})
    return data


def fill_pages(client, location: str, definition: dict, overrides: dict | None = None) -> str:
    """Answer each page of a started draft from ``location`` on, as the pages lead; return the check page's address."""
    answers: dict = {}
    for _ in range(len(definition["pages"]) + 1):
        if "/check" in location:
            break
        page_id = location.rsplit("/", 1)[-1].split("?")[0]
        page = next(p for p in definition["pages"] if p["id"] == page_id)
        form_page = client.get(location)
        assert form_page.status_code == 200, form_page.get_data(as_text=True)[:500]
        data = page_data(page, answers, overrides or {})
        answers.update({k: v for k, v in data.items() if isinstance(v, str)})
        data.update({"csrf_token": csrf_token(form_page), "action": "next"})
        response = client.post(location, data=data, content_type="multipart/form-data")
        assert response.status_code == 302, _errors(response)
        location = response.headers["Location"]
    assert "/check" in location, f"the pages never led to the check page (last: {location})"
    return location


def file_form(client, definition: dict, overrides: dict | None = None, consents: tuple[str, ...] = ()) -> str:
    """Start, fill every page, check and submit (ticking the consent to each external destination in
    ``consents``); return the receipt number shown to the resident."""
    overrides = overrides or {}
    slug = definition["slug"]
    start_page = client.get(f"/forms/{slug}")
    assert start_page.status_code == 200
    response = client.post(f"/forms/{slug}/start", data={"csrf_token": csrf_token(start_page)})
    assert response.status_code == 302
    check = client.get(fill_pages(client, response.headers["Location"], definition, overrides))
    assert check.status_code == 200
    submit_url = re.search(r'action="(/drafts/\d+/submit)"', check.get_data(as_text=True)).group(1)
    response = client.post(submit_url, data={"csrf_token": csrf_token(check), "declaration": "y",
                                             CONSENT_FIELD: list(consents)})
    assert response.status_code == 302
    confirmation = client.get(response.headers["Location"])
    match = re.search(r'id="receipt-number">([^<]+)<', confirmation.get_data(as_text=True))
    assert match, "no receipt number on the confirmation page"
    return match.group(1)


def _errors(response) -> str:
    html = response.get_data(as_text=True)
    return "; ".join(re.findall(r"＊([^<]+)<", html)) or html[:800]
