"""Plausible answers to any form, generated from its definition: the demo's cases and the tests' factory."""

from __future__ import annotations

import datetime as dt
import io

from app import jp
from app.accounts.models import Resident
from app.catalogue.definition import is_shown
from app.submissions import service
from app.submissions.date_bounds import date_problem, date_warning
from app.submissions.filling import attachment_answer
from app.submissions.models import Submission

# A valid My Number (check digit correct) that belongs to no one: demo data only.
DEMO_MYNUMBER = "123456789018"
# The smallest well-formed PDF: enough for the type sniffing of an upload.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def fill(resident: Resident, slug: str) -> Submission:
    """A complete draft of ``slug`` with a plausible answer for every question that is asked."""
    draft = service.start_draft(resident, slug)
    definition = draft.form_version.definition
    answers: dict = {}
    for page in definition["pages"]:
        if not is_shown(page.get("show_if"), answers):
            continue
        values, sensitive = {}, {}
        for field in page["fields"]:
            if not is_shown(field.get("show_if"), {**answers, **values}):
                continue
            if field["type"] == "file":
                attachment = service.store_attachment(draft, field, "ininjo.pdf", io.BytesIO(DEMO_PDF))
                values[field["name"]] = attachment_answer(attachment)
            elif field["type"] == "mynumber":
                sensitive[field["name"]] = DEMO_MYNUMBER
                values[field["name"]] = True
            else:
                values[field["name"]] = demo_value(field)
        answers.update(values)
        service.save_page(draft, page, values, sensitive=sensitive or None)
    return draft


def _demo_date(field: dict) -> str:
    """A birth-date-like day when the field allows one, else a recent day (a move a few days ago), else a
    day soon: always within the field's bounds and clear of its warnings."""
    today = jp.today_jst()
    for day in (dt.date(1958, 5, 1), today - dt.timedelta(days=3), today, today + dt.timedelta(days=7)):
        if date_problem(field, day, today) is None and date_warning(field, day, today) is None:
            return day.isoformat()
    return today.isoformat()


def demo_value(field: dict):
    kind = field["type"]
    options = [option["value"] for option in field.get("options", [])]
    samples = {
        "text": "市民課窓口で受け取ります",
        "textarea": "窓口のデモです。",
        "number": max(1, field.get("min") or 1) if kind == "number" else None,
        "date": _demo_date(field) if kind == "date" else None,
        "name": {"family": "山田", "given": "花子", "family_kana": "ヤマダ", "given_kana": "ハナコ"},
        "postcode": "100-0001",
        "address": "東京都千代田区千代田1-1",
        "phone": "03-1234-5678",
        "email": "hanako@example.jp",
        "select": options[0] if options else None,
        "radio": options[0] if options else None,
        "checkboxes": options[:1],
        "yesno": "no",
    }
    if kind == "group":
        return [{sub["name"]: demo_value(sub) for sub in field["fields"]}
                for _ in range(max(1, field.get("min_items", 0)))]
    return samples[kind]
