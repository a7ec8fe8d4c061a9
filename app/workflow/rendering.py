"""What a case's documents print, and where their seals go: the answers as submitted, on the form
version they were filled against, with an empty signature field per approval of the route and one for
the organisation seal.

The approval document is rendered once per round (DESIGN "The document and its seals"); it is never
rendered again. Fields marked never-on-paper (My Number always, and ``print: false``) are left out of
the document and of its JSON attachment.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from markupsafe import Markup

from app.accounts.models import Office
from app.db import utcnow
from app.documents import codes
from app.documents import service as documents
from app.documents.models import Document
from app.errors import NotFound
from app.extensions import db
from app.i18n import JST, localized
from app.submissions.errand import next_steps
from app.submissions.models import Submission
from app.submissions.presenters import answer_rows
from app.submissions.service import visible_fields, visible_pages
from app.submissions.states import State
from app.workflow.service import ORG_SEAL


def printable_fields(submission: Submission):
    """(page, field) pairs that are asked and may be printed: never My Number or ``print: false``."""
    definition = submission.form_version.definition
    for page in visible_pages(definition, submission.answers):
        for field in visible_fields(page, submission.answers):
            if field.get("print", True) and field["type"] != "mynumber":
                yield page, field


def printable_answers(submission: Submission) -> dict:
    """The answers embedded as the document's JSON attachment."""
    return {field["name"]: submission.answers.get(field["name"]) for _page, field in printable_fields(submission)}


def step_field_name(index: int, step_key: str, office_code: str) -> str:
    return f"step-{index + 1}-{step_key}-{office_code}"


def seal_fields(submission: Submission) -> list[dict]:
    """One signature field per approval of the route (a 合議 step: one per office), in route order:
    ``{field_name, step_name, office_name}``."""
    names = {o.code: o for o in db.session.scalars(sa.select(Office))}
    fields = []
    for index, step in enumerate(submission.route):
        for code in step.get("offices") or [step["office"]]:
            fields.append({"field_name": step_field_name(index, step["step"], code),
                           "step_name": localized(step["name"], "ja"), "office_name": names[code].name_ja})
    return fields


def sections(submission: Submission) -> list[dict]:
    """What a document prints, as plain JSON-able text: ``[{title, rows: [{name, label, value, items}]}]``
    (``items``: a repeating group's entries as ``[[label, value], ...]``). In Japanese, as printed."""
    printable = {field["name"] for _page, field in printable_fields(submission)}
    with force_locale("ja"):
        found = answer_rows(submission, "ja", editable=False, reveal_sensitive=False, include=printable,
                            attachment_endpoint=None)
        return [
            {"title": str(section["title"]), "rows": [
                {"name": row["name"], "label": str(row["label"]), "value": str(row["value"]),
                 "items": [[[str(label), str(value)] for label, value in item] for item in row["group_items"]]
                 if row["group_items"] else None}
                for row in section["rows"]]}
            for section in found if section["rows"]
        ]


def context(submission: Submission, document: Document, *, with_seals: bool) -> dict:
    """The template's context. A document without a verification code (a receipt) prints neither the
    code nor the QR: only what carries seals can be verified, so nothing else claims it can."""
    config = current_app.config
    code = document.verification_code
    verify_url = f"{config['MADOGUCHI_BASE_URL']}/verify/{code}" if code else None
    return {
        "municipality": config["MADOGUCHI_MUNICIPALITY"],
        "org_name": config["MADOGUCHI_MUNICIPALITY"],
        "form_title": submission.form_version.title_ja,
        "form_version": submission.form_version.version,
        "receipt_number": submission.receipt_number,
        "verification_code": codes.format_code(code) if code else None,
        "verify_url": verify_url,
        # bandit B704: segno's SVG of our own verification URL
        "qr_svg": Markup(codes.qr_svg(verify_url)) if code else None,  # nosec B704
        "submitted_at_text": submission.submitted_at.astimezone(JST).strftime("%Y年%m月%d日 %H:%M"),
        "generated_at_text": utcnow().astimezone(JST).strftime("%Y年%m月%d日 %H:%M"),
        "sections": document.printed if document.printed is not None else sections(submission),
        "route": seal_fields(submission) if with_seals else [],
        "org_seal_field": ORG_SEAL,
    }


def render_input(template: str, submission: Submission, document: Document, *, with_seals: bool) -> dict:
    """The render process's input for one of the case's documents (scripts/bench/render.py times it)."""
    return documents.render_input(template, context(submission, document, with_seals=with_seals),
                                  data=printable_answers(submission), title=submission.form_version.title_ja)


def _render(pool, template: str, submission: Submission, document: Document, *, with_seals: bool):
    request = render_input(template, submission, document, with_seals=with_seals)
    return pool.render(request.pop("html"), **request)


def render_documents(submission: Submission, pool) -> Document:
    """Render the receipt (first time only) and this round's approval document with its empty fields.

    What each prints is kept with it as text (``Document.printed``): the sections of the pinned form
    version, with the labels and values exactly as printed, so verification shows the paper's words.

    Idempotent per round: a retried job finds the round's document and renders nothing.
    """
    # Imported here: only the worker renders; pyHanko would cost every web process its memory.
    from app.seals.sign import FieldSpec, add_signature_fields

    existing = documents.current_document(submission.id)
    if existing is not None and existing.round == submission.round and existing.revisions:
        return existing
    printed = sections(submission)
    if documents.current_document(submission.id, "receipt") is None:
        receipt = documents.new_document(submission.id, "receipt", submission.round, printed=printed,
                                         verifiable=False)
        data, _boxes = _render(pool, "pdf/receipt.html", submission, receipt, with_seals=False)
        documents.add_revision(receipt, data, "rendered")
    document = documents.new_document(submission.id, "approval", submission.round, printed=printed)
    data, boxes = _render(pool, "pdf/approval.html", submission, document, with_seals=True)
    names = [f["field_name"] for f in seal_fields(submission)] + [ORG_SEAL]
    # The organisation seal's field carries the lock (FieldMDP All + DocMDP no changes): it signs last.
    specs = [FieldSpec(name, *boxes[f"seal-{name}"], lock=name == ORG_SEAL) for name in names]
    documents.add_revision(document, add_signature_fields(data, specs), "rendered")
    return document


def notice_context(submission: Submission) -> dict:
    """審査結果のお知らせ: the decision, its reason (a rejection's) and, once approved, what to do now."""
    config = current_app.config
    approved = submission.state == State.APPROVED
    office = submission.form_version.office
    with force_locale("ja"):
        steps = next_steps(submission.form_version, submission.answers, submission.submitted_at, decided=True) \
            if approved else []
    return {
        "municipality": config["MADOGUCHI_MUNICIPALITY"],
        "form_title": submission.form_version.title_ja,
        "receipt_number": submission.receipt_number,
        "applicant_name": submission.applicant_name or "",
        "office_name": office.name_ja,
        "office_phone": (office.contact or {}).get("phone", ""),
        "submitted_at_text": submission.submitted_at.astimezone(JST).strftime("%Y年%m月%d日"),
        "decided_at_text": submission.decided_at.astimezone(JST).strftime("%Y年%m月%d日"),
        "generated_at_text": utcnow().astimezone(JST).strftime("%Y年%m月%d日 %H:%M"),
        "approved": approved,
        "reason": submission.decision_message if submission.state == State.REJECTED else None,
        "steps": steps,
    }


def render_notice(submission: Submission, pool) -> Document | None:
    """The decided case's 審査結果のお知らせ, once (a retried job finds it and renders nothing). A letter,
    not a certificate: no seal, so no verification code."""
    if submission.state not in (State.APPROVED, State.REJECTED):
        return None
    existing = documents.current_document(submission.id, "notice")
    if existing is not None and existing.round == submission.round and existing.revisions:
        return existing
    context = notice_context(submission)
    document = documents.new_document(submission.id, "notice", submission.round, verifiable=False)
    request = documents.render_input("pdf/notice.html", context, data={}, title="審査結果のお知らせ")
    data, _boxes = pool.render(request.pop("html"), **request)
    documents.add_revision(document, data, "rendered")
    return document


def latest_sealed_bytes(receipt_number: str) -> bytes:
    """The latest revision of the current approval document of a submission (``flask documents export``)."""
    submission_id = db.session.scalar(sa.select(Submission.id).where(Submission.receipt_number == receipt_number))
    document = documents.current_document(submission_id) if submission_id else None
    if document is None or document.latest is None:
        raise NotFound(f"no approval document for {receipt_number}")
    return documents.read_bytes(document.latest.sha256)
