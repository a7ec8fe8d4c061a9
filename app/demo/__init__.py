"""``flask demo seed``: a whole demo on a fresh instance, through the same services as real use.

Idempotent: a second run finds the demo residents and adds nothing. Answers are generated from the
definitions themselves (``answers``: a plausible value per field type), so new forms get demo data for
free; the tests file their cases with the same ``fill``. Stands outside the layers: it uses them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app import jp
from app.accounts.models import Resident
from app.accounts.service import hash_password
from app.accounts.staff_service import find_staff
from app.catalogue.models import FormVersion
from app.catalogue.service import published_forms, sync_catalogue
from app.db import utcnow
from app.demo.answers import fill
from app.demo.staff import seed_demo_staff
from app.extensions import db
from app.jobs.worker import run_due
from app.seals import service as seals
from app.submissions import service
from app.submissions.models import Submission
from app.submissions.states import State
from app.workflow import service as workflow

# bandit B105: the demo's published password; demo seed is refused in production
DEMO_PASSWORD = "madoguchi-demo-2026"  # nosec B105
DEMO_RESIDENTS = [("hanako@example.jp", "ja"), ("taro@example.jp", "ja"), ("emma@example.com", "en")]
#: hanako consents to every receiver outside the city government her forms name (the care office gets her
#: 転居届, the legal affairs bureau her 印鑑登録証明書 by fax); taro consents to none.
HANAKO_CONSENTS = {"tenkyo": {"kaigo-hikari": True}, "inkan-shomei": {"homukyoku": True}}
#: Who approves each step of a demo route, in order (four eyes: a different person at each step).
ROUTE_STAFF = {
    "juminhyo": ("suzuki@city.example.lg.jp", "kacho.shimin@city.example.lg.jp"),
    "inkan-shomei": ("suzuki@city.example.lg.jp", "kacho.shimin@city.example.lg.jp"),
    "tenkyo": ("suzuki@city.example.lg.jp", "tanaka@city.example.lg.jp", "kacho.zeimu@city.example.lg.jp",
               "kacho.fukushi@city.example.lg.jp", "kacho.shimin@city.example.lg.jp"),
}


def seed(catalogue_dirs: list[Path], references) -> Iterator[str]:
    report = sync_catalogue(catalogue_dirs, references)
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
        service.submit(submitted, HANAKO_CONSENTS.get(form.slug))
        if index == 0:
            withdrawn = fill(taro, form.slug)
            service.submit(withdrawn)
            service.withdraw(withdrawn)
        else:
            service.submit(fill(taro, form.slug))
    # More 住民票 requests for the decisions above, a half-filled draft to resume, and one in English.
    for resident in (emma, hanako, taro):
        service.submit(fill(resident, "juminhyo"))
    if any(form.slug == "tenkyo" for form in forms):
        service.submit(_late_move(emma))
    if forms:
        service.start_draft(hanako, forms[-1].slug)


def _late_move(resident: Resident) -> Submission:
    """A 転居届 filed three weeks after the move: accepted, and shown as 届出期間経過 to staff."""
    draft = fill(resident, "tenkyo")
    moved = jp.today_jst() - dt.timedelta(days=21)
    draft.answers = {**draft.answers, "move_date": moved.isoformat()}
    db.session.flush()
    return draft


def _decisions() -> None:
    """Move some demo cases through the route so every state is on show: approved, returned, rejected."""
    clerk, clerk2, approver = (find_staff(email) for email in (
        "suzuki@city.example.lg.jp", "tanaka@city.example.lg.jp", "kacho.shimin@city.example.lg.jp"))
    in_review = db.session.scalars(
        sa.select(Submission).join(FormVersion).where(Submission.state == State.IN_REVIEW,
                                                      FormVersion.slug == "juminhyo")
        .order_by(Submission.id)
    ).all()
    plans = ["approve", "return", "reject", "first_step"]
    # hanako's 転居届 and 印鑑登録証明書 (delivered where she consented), and taro's 転居届 (he did not).
    for email, slug in (("hanako@example.jp", "tenkyo"), ("hanako@example.jp", "inkan-shomei"),
                        ("taro@example.jp", "tenkyo")):
        submission = db.session.scalar(
            sa.select(Submission).join(FormVersion).join(Resident, Resident.id == Submission.resident_id)
            .where(Submission.state == State.IN_REVIEW, FormVersion.slug == slug, Resident.email == email)
            .order_by(Submission.id).limit(1))
        if submission is not None:
            for member in ROUTE_STAFF[slug]:
                _approve_and_seal(submission.id, find_staff(member))
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
