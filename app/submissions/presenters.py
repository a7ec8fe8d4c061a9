"""What the portal templates show: answer summaries, page context, error summary targets."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import url_for

from app.accounts.models import Staff
from app.audit.service import events_for_subject
from app.extensions import db
from app.i18n import JST, localized
from app.submissions import date_bounds, service
from app.submissions.fields import display_value
from app.submissions.models import Submission


def answer_rows(submission: Submission, locale: str, *, editable: bool, reveal_sensitive: bool,
                attachment_endpoint: str | None = "submissions.attachment", include: set[str] | None = None
                ) -> list[dict]:
    """Pages with their answered fields, for the check page, the status page and the office case page.

    ``reveal_sensitive`` must be said: the resident's own pages show My Number masked (``**** **** 9018``);
    staff pages and documents pass False, and the number then shows only whether it was given (reading
    it is a separate, audited action).
    """
    definition = submission.form_version.definition
    answers = submission.answers
    sensitive = service.read_sensitive(submission) if reveal_sensitive and submission.sensitive_answers else {}
    # Warnings of dates count from the day the case was filed (a late 転居届 stays late), else from today.
    on = submission.submitted_at.astimezone(JST).date() if submission.submitted_at else date_bounds.today()
    sections = []
    for page in service.visible_pages(definition, answers):
        rows = []
        for field in service.visible_fields(page, answers):
            if include is not None and field["name"] not in include:
                continue
            value = answers.get(field["name"])
            row = {
                "name": field["name"],
                "label": localized(field["label"], locale),
                "value": display_value(field, value, locale, sensitive_value=sensitive.get(field["name"])),
                "group_items": _group_items(field, value, locale) if field["type"] == "group" and value else None,
                "warning": _date_warning(field, value, on, locale),
            }
            if field["type"] == "file" and value and attachment_endpoint:
                row["attachment_url"] = url_for(attachment_endpoint, submission_id=submission.id,
                                                attachment_id=value["attachment_id"])
            rows.append(row)
        change_url = None
        if editable:
            change_url = url_for("submissions.page", submission_id=submission.id, page_id=page["id"],
                                 **{"return": "check"})
        sections.append({"title": localized(page["title"], locale), "rows": rows, "change_url": change_url})
    return sections


def _date_warning(field: dict, value, on, locale: str) -> str | None:
    if field["type"] != "date" or not value:
        return None
    message = date_bounds.date_warning(field, dt.date.fromisoformat(value), on, locale)
    return str(message) if message is not None else None


def _group_items(field: dict, items: list[dict], locale: str) -> list[list[tuple[str, str]]]:
    return [
        [(localized(sub["label"], locale), display_value(sub, item.get(sub["name"]), locale))
         for sub in field["fields"]]
        for item in items
    ]


def error_targets(form) -> list[tuple[str, str]]:
    """(element id, message) for each error, in page order, for the error summary's links."""
    targets = []
    for field in form:
        if field.name == "csrf_token" or not field.errors:
            continue
        targets.extend(_targets(field.id, field.errors, field))
    return targets


def _targets(base_id, errors, field=None):
    if isinstance(errors, dict):  # FormField: {subfield: [messages]}
        found = []
        for sub, messages in errors.items():
            found.extend(_targets(f"{base_id}-{sub}", messages))
        return found
    if errors and isinstance(errors[0], (dict, list)):  # FieldList of FormFields
        found = []
        for index, entry_errors in enumerate(errors):
            if entry_errors:
                found.extend(_targets(f"{base_id}-{index}", entry_errors))
        return found
    return [(base_id, message) for message in errors]


def page_context(draft: Submission, page: dict, fields: list[dict], form, locale: str) -> dict:
    definition = draft.form_version.definition
    pages = service.visible_pages(definition, draft.answers)
    ids = [p["id"] for p in pages]
    position = ids.index(page["id"]) + 1 if page["id"] in ids else 1
    attachments = {a.field_name: a for a in draft.attachments}
    return {
        "draft": draft,
        "page": page,
        "page_title": localized(page["title"], locale),
        "intro": localized(page.get("intro"), locale),
        "form_title": draft.form_version.title(locale),
        "fields": [(spec, form[spec["name"]]) for spec in fields],
        "form": form,
        "errors": error_targets(form),
        # Dates that warn (届出期間経過): {field name: (message, ISO date)}, said once before going on.
        "warnings": getattr(form, "date_warnings", {}),
        "acknowledged_field": "acknowledged",
        "attachments": attachments,
        "position": position,
        "page_count": len(pages),
        "has_previous": position > 1,
    }


def staff_accesses(submission: Submission) -> list[dict]:
    """For the resident: each staff access to their case (office, role, action, time), never names."""
    events = events_for_subject("submission", submission.id, actor_types=("staff",))
    ids = {e.actor_id for e in events if e.actor_id}
    staff = {s.id: s for s in db.session.scalars(sa.select(Staff).where(Staff.id.in_(ids)))} if ids else {}
    accesses = []
    for event in events:
        member = staff.get(event.actor_id)
        if member is not None:
            accesses.append({"office": member.office, "roles": member.roles, "action": event.action,
                             "at": event.created_at})
    return accesses
