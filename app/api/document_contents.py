"""What a verified document says, for the person holding it: its printed answers as text, images of its
pages, and a name in people's words for each of its seals.

A verification code alone proves nothing about the paper in hand: a fax altered by hand keeps its real
code. So verification shows what the original says, and the holder compares line by line. The holder
learns nothing the paper does not already show them (the README's "Verification shows the document"
gives the reasons and the limits): only the printed text (never My Number, never a field marked
``print: false``), and only while the case is within its retention (保存年限: ``decided_at`` +
the form's ``retention_years``; undecided cases are within it).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from app import jp
from app.accounts.models import Office
from app.documents.models import Document
from app.extensions import db
from app.i18n import JST
from app.submissions.models import Submission
from app.workflow import rendering
from app.workflow.service import ORG_SEAL


def retained_until(submission: Submission) -> dt.date | None:
    """The last day the case's data is kept: the decision's date in Japan plus the form's retention
    years. None while the case is undecided (kept at least until it is decided)."""
    if submission.decided_at is None:
        return None
    years = int(submission.form_version.definition.get("retention_years") or 1)
    return jp.shift(submission.decided_at.astimezone(JST).date(), f"+{years}y")


def page_image_url(code: str, number: int) -> str:
    return f"{current_app.config['MADOGUCHI_BASE_URL']}/verify/{code}/pages/{number}.png"


def contents(document: Document, submission: Submission, today: dt.date | None = None) -> dict:
    """``{printed_fields, page_images, retained_until, content_withheld}`` for the verification report.

    ``printed_fields``: the sections as printed (``[{title, rows: [{label, value, items}]}]``);
    ``page_images``: the addresses of the images of the latest revision's pages ([] until the worker
    has rendered them, and for documents that were never finally sealed); ``content_withheld``:
    "retention" when the retention has passed, then nothing of the content is given.
    """
    until = retained_until(submission)
    result = {"retained_until": until.isoformat() if until else None, "content_withheld": None,
              "printed_fields": None, "page_images": []}
    if until is not None and (today or jp.today_jst()) > until:
        result["content_withheld"] = "retention"
        return result
    printed = document.printed if document.printed is not None else rendering.sections(submission)
    result["printed_fields"] = [
        {"title": section["title"],
         "rows": [{"label": row["label"], "value": row["value"], "items": row.get("items")} for row in section["rows"]]}
        for section in printed
    ]
    latest = document.latest
    if document.verification_code and latest is not None and latest.page_images:
        result["page_images"] = [page_image_url(document.verification_code, number)
                                 for number in range(1, len(latest.page_images) + 1)]
    return result


def seal_labels(submission: Submission) -> dict[str, dict[str, str]]:
    """Each signature field of the case's documents named as people say it: 「受付（市民課）」, and
    「公印（架空市）」 for the organisation seal, in Japanese and English."""
    route = submission.route or submission.form_version.definition.get("route") or []
    codes = {code for step in route for code in (step.get("offices") or [step["office"]])}
    offices = {o.code: o for o in db.session.scalars(sa.select(Office).where(Office.code.in_(codes)))}
    labels = {}
    for index, step in enumerate(route):
        for code in step.get("offices") or [step["office"]]:
            office = offices.get(code)
            name = step["name"]
            labels[rendering.step_field_name(index, step["step"], code)] = {
                "ja": f"{name['ja']}（{office.name_ja if office else code}）",
                "en": f"{name.get('en') or name['ja']} ({office.name_en if office else code})",
            }
    municipality = current_app.config["MADOGUCHI_MUNICIPALITY"]
    labels[ORG_SEAL] = {"ja": f"公印（{municipality}）", "en": f"Official seal ({municipality})"}
    return labels
