"""``flask demo seed``: a whole demo on a fresh instance, through the same services as real use.

Idempotent: a second run finds the demo residents and adds nothing. Answers are generated from the
definitions themselves (a plausible value per field type), so new forms get demo data for free.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app.accounts.demo import seed_demo_staff
from app.accounts.models import Resident
from app.accounts.service import hash_password
from app.accounts.staff_service import find_staff
from app.catalogue.definition import is_shown
from app.catalogue.models import FormVersion
from app.catalogue.service import published_forms, sync_catalogue
from app.db import utcnow
from app.delivery.worker import run_due
from app.extensions import db
from app.seals import service as seals
from app.submissions import service
from app.submissions.models import Submission
from app.workflow import service as workflow

DEMO_PASSWORD = "madoguchi-demo-2026"
DEMO_RESIDENTS = [("hanako@example.jp", "ja"), ("taro@example.jp", "ja"), ("emma@example.com", "en")]
# A valid My Number (check digit correct) that belongs to no one: demo data only.
DEMO_MYNUMBER = "123456789018"
# The smallest well-formed PDF: enough for the type sniffing of an upload.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def seed(catalogue_dirs: list[Path]) -> Iterator[str]:
    report = sync_catalogue(catalogue_dirs)
    db.session.commit()
    yield f"catalogue: {report}"
    staff_lines = seed_demo_staff()
    db.session.commit()
    if not seals.has_pki():
        yield from seals.init_pki()
        db.session.commit()
    existing = db.session.scalar(sa.select(Resident).where(Resident.email == DEMO_RESIDENTS[0][0]))
    if existing is None:
        residents = [_resident(email, locale) for email, locale in DEMO_RESIDENTS]
        db.session.flush()
        _submissions(residents)
        db.session.commit()
        # The worker puts the submitted cases into review; then staff decide some of them.
        run_due()
        _decisions()
        yield "demo residents and submissions created"
    else:
        yield "demo data already present; nothing added"
    sent = run_due()
    yield f"worker: ran {sent} job(s)"
    yield ""
    yield from staff_lines
    yield ""
    yield f"Residents (password for each: {DEMO_PASSWORD}):"
    for email, _locale in DEMO_RESIDENTS:
        yield f"  {email}"
    yield f"Open {current_app.config['MADOGUCHI_BASE_URL']}/"


def _resident(email: str, locale: str) -> Resident:
    resident = Resident(email=email, password_hash=hash_password(DEMO_PASSWORD), locale=locale,
                        email_confirmed_at=utcnow())
    db.session.add(resident)
    return resident


def _submissions(residents: list[Resident]) -> None:
    forms = published_forms()
    hanako, taro, emma = residents
    for index, form in enumerate(forms):
        submitted = fill(hanako, form.slug)
        service.submit(submitted)
        if index == 0:
            withdrawn = fill(taro, form.slug)
            service.submit(withdrawn)
            service.withdraw(withdrawn)
        else:
            service.submit(fill(taro, form.slug))
    # More 住民票 requests for the decisions above, a half-filled draft to resume, and one in English.
    for resident in (emma, hanako, taro):
        service.submit(fill(resident, "juminhyo"))
    if forms:
        service.start_draft(hanako, forms[-1].slug)


def _decisions() -> None:
    """Move some demo cases through the route so every state is on show: approved, returned, rejected."""
    clerk, clerk2, approver = (find_staff(email) for email in (
        "suzuki@city.example.lg.jp", "tanaka@city.example.lg.jp", "kacho.shimin@city.example.lg.jp"))
    in_review = db.session.scalars(
        sa.select(Submission).join(FormVersion).where(Submission.state == "in_review", FormVersion.slug == "juminhyo")
        .order_by(Submission.id)
    ).all()
    plans = ["approve", "return", "reject", "first_step"]
    for submission, plan in zip(in_review, plans, strict=False):
        if plan == "approve":
            _approve_and_seal(submission.id, clerk)
            _approve_and_seal(submission.id, approver)
        elif plan == "return":
            workflow.return_for_correction(submission.id, clerk, "生年月日の年号をもう一度確認してください。")
        elif plan == "reject":
            workflow.reject(submission.id, clerk2, "この請求は本人または同一世帯の方のみ行えます。")
        else:
            _approve_and_seal(submission.id, clerk)
        db.session.commit()


def _approve_and_seal(submission_id: int, staff) -> None:
    """The click, then the worker's seal (and, after the last step, the organisation seal)."""
    workflow.approve(submission_id, staff)
    db.session.commit()
    run_due()


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
                attachment = service.store_attachment(draft, field, "ininjo.pdf", DEMO_PDF)
                values[field["name"]] = {"attachment_id": attachment.id, "filename": attachment.filename,
                                         "size": attachment.size}
            elif field["type"] == "mynumber":
                sensitive[field["name"]] = DEMO_MYNUMBER
                values[field["name"]] = True
            else:
                values[field["name"]] = demo_value(field)
        answers.update(values)
        service.save_page(draft, page, values, sensitive=sensitive or None)
    return draft


def demo_value(field: dict):
    kind = field["type"]
    options = [option["value"] for option in field.get("options", [])]
    samples = {
        "text": "市民課窓口で受け取ります",
        "textarea": "窓口のデモです。",
        "number": max(1, field.get("min") or 1),
        "date": "1958-05-01",
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
