"""Filling a form page by page: what a page shows, and what a page's POST does to the draft.

The rules live here and the view (``app.submissions.views.page``) only says the outcome in words and
links. Nothing typed is lost: entries that fail validation, a "back", a group item added or removed
and a postcode lookup all keep the page's entries as typed (``service.save_pending``); My Number is
never kept in that plain-text copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app import jp
from app.submissions import date_bounds, service
from app.submissions.fields import answers_from_form, form_data_from_answers, page_form_class
from app.submissions.models import Attachment, Submission

#: Buttons that redraw the page without leaving it: add or remove a group item, look up a postcode.
INLINE_ACTIONS = ("add:", "remove:", "lookup:")


class Outcome(StrEnum):
    """What a page's POST did; the view turns each into a redirect or a page."""

    BACK = "back"  # entries kept; go to the previous page
    REDRAWN = "redrawn"  # an inline action; show the page again
    KEPT_FOR_LATER = "kept_for_later"  # "save and leave" with entries that do not pass yet
    INVALID = "invalid"  # show the page with its errors
    MORE_QUESTIONS = "more_questions"  # the answers reveal questions on this same page
    WARNED = "warned"  # saved, but a date warns (届出期間経過): said on the page; pressing on again goes on
    SAVED = "saved"  # "save and leave" with valid entries
    DONE = "done"  # go on to the next page (or the check page)


def page_form(draft: Submission, page: dict, fields: list[dict], locale: str):
    """The page's form as the resident left it: entries that did not pass yet, else the stored answers."""
    form_class = page_form_class(fields, locale)
    pending = (draft.progress or {}).get("pending", {}).get(page["id"])
    if pending:
        form = form_class(formdata=MultiDict([(k, v) for k, values in pending.items() for v in values]))
    else:
        form = form_class(formdata=None, data=form_data_from_answers(fields, draft.answers))
    size_groups(form, fields)
    return form


def posted_form(fields: list[dict], locale: str, formdata: MultiDict):
    """The page's form over what was posted (CSRF checked by the view, which keeps entries on failure)."""
    form = page_form_class(fields, locale)(formdata=formdata, meta={"csrf": False})
    return form


#: The hidden inputs of a page that warned: ``<field name>:<ISO date>`` for each warning the resident saw.
ACKNOWLEDGED = "acknowledged"


def post_page(draft: Submission, page: dict, fields: list[dict], form, *, action: str, entries: dict,
              files: Mapping, locale: str = "ja") -> Outcome:
    """Apply a page's POST to the draft (flushes). ``entries``: the posted form as lists of values.

    A date that warns (``warn_before``/``warn_after``) does not stop the answers being saved; the page is
    shown again once with the warning (``form.date_warnings``), and pressing on with the same date goes on.
    """
    if action == "back":
        service.save_pending(draft, page, entries)
        return Outcome.BACK
    if action.startswith(INLINE_ACTIONS):
        apply_inline_action(form, fields, action)
        service.save_pending(draft, page, entries)
        return Outcome.REDRAWN
    upload_errors, sensitive = take_special_fields(draft, fields, form, files)
    if not form.validate() or upload_errors:
        service.save_pending(draft, page, entries)
        if action == "save":  # save and leave: keep the entries as typed, errors and all
            return Outcome.KEPT_FOR_LATER
        for name, message in upload_errors.items():
            form[name].errors = [*(form[name].errors or []), message]
        return Outcome.INVALID
    service.save_page(draft, page, answers_from_form(fields, form), sensitive=sensitive)
    # A question revealed by this page's own answers (show_if on the same page) is asked now.
    now_visible = service.visible_fields(page, draft.answers)
    if [f["name"] for f in now_visible] != [f["name"] for f in fields]:
        return Outcome.MORE_QUESTIONS
    if action != "save":
        warnings = unacknowledged_warnings(fields, draft.answers, entries.get(ACKNOWLEDGED, []), locale)
        if warnings:
            form.date_warnings = warnings
            return Outcome.WARNED
    return Outcome.SAVED if action == "save" else Outcome.DONE


def unacknowledged_warnings(fields: list[dict], answers: dict, acknowledged: list[str], locale: str) -> dict:
    """``{field name: (message, ISO date)}`` for each date of the page that warns and was not yet seen
    with that same date."""
    seen = set(acknowledged)
    found = {}
    for spec in fields:
        value = answers.get(spec["name"])
        if spec["type"] != "date" or not value:
            continue
        message = date_bounds.date_warning(spec, dt.date.fromisoformat(value), date_bounds.today(), locale)
        if message is not None and f"{spec['name']}:{value}" not in seen:
            found[spec["name"]] = (str(message), value)
    return found


def size_groups(form, fields: list[dict]) -> None:
    """Show at least ``min_items`` entries of each repeating group (and one to start filling in)."""
    for spec in fields:
        if spec["type"] == "group":
            field_list = form[spec["name"]]
            while len(field_list.entries) < max(spec.get("min_items", 0), 1 if spec.get("min_items", 0) else 0):
                field_list.append_entry()


def apply_inline_action(form, fields: list[dict], action: str) -> None:
    """Change the page without leaving it: add/remove a group item, look up a postcode."""
    verb, _sep, target = action.partition(":")
    specs = {spec["name"]: spec for spec in fields}
    if verb == "add" and target in specs:
        field_list = form[target]
        if len(field_list.entries) < specs[target].get("max_items", 99):
            field_list.append_entry()
    elif verb == "remove":
        name, _sep, index = target.partition(":")
        if name in specs and index.isdigit():
            field_list = form[name]
            kept = [e.data for i, e in enumerate(field_list.entries) if i != int(index)]
            while field_list.entries:
                field_list.pop_entry()
            for data in kept:
                field_list.append_entry(data)
    elif verb == "lookup" and target in specs:
        look_up_address(form, specs[target])


def look_up_address(form, address_spec: dict) -> None:
    """Fill the address from the postcode (one town), or list the towns (several), or say it was not found.

    The page is drawn again (no JavaScript needed), so the redrawn page puts the focus where the resident
    goes on (``focus``): on the address with a status message saying what happened, or on the postcode
    with its error."""
    target = form[address_spec["name"]]
    postcode_field = form[address_spec["lookup_from"]]
    try:
        code = jp.parse_postcode(postcode_field.data or "")
    except jp.InvalidValue as exc:
        postcode_field.errors = [str(exc.message)]
        postcode_field.focus = True
        return
    choices = jp.lookup_postcode(code)
    if not choices:
        postcode_field.errors = [
            _("この郵便番号の住所が見つかりませんでした。番号を確かめるか、住所を直接入力してください。")
        ]
        postcode_field.focus = True
        return
    target.focus = True
    if len(choices) == 1:
        target.data = choices[0]["address"]
        target.lookup_choices = []
        target.lookup_message = _("郵便番号から住所を入力しました。続けて、番地と建物名・部屋番号を入力してください。")
    else:
        # Several towns share the code: none is chosen for the resident, who writes the right one.
        target.lookup_choices = choices
        target.lookup_message = _(
            "この郵便番号には複数の地域があります。次の中から該当する住所を入力欄にご記入ください。")


def take_special_fields(draft: Submission, fields: list[dict], form, files: Mapping) -> tuple[dict, dict]:
    """Uploads and My Number are stored apart from the ordinary answers: (upload errors, sensitive values)."""
    errors, sensitive = {}, {}
    for spec in fields:
        field = form[spec["name"]]
        if spec["type"] == "file":
            upload = files.get(spec["name"])
            existing = next((a for a in draft.attachments if a.field_name == spec["name"]), None)
            if upload and upload.filename:
                try:
                    attachment = service.store_attachment(draft, spec, upload.filename, upload.stream)
                except jp.InvalidValue as exc:
                    errors[spec["name"]] = str(exc.message)
                    continue
                draft.answers = {**draft.answers, spec["name"]: attachment_answer(attachment)}
            elif existing is None and spec.get("required", True):
                errors[spec["name"]] = _("ファイルを選んでください。")
        elif spec["type"] == "mynumber":
            if field.data:
                if not field.errors and getattr(field, "normalised", None) is None:
                    field.validate(form)
                value = getattr(field, "normalised", None)
                if value:
                    sensitive[spec["name"]] = value
                    draft.answers = {**draft.answers, spec["name"]: True}
    return errors, sensitive


def attachment_answer(attachment: Attachment) -> dict:
    return {"attachment_id": attachment.id, "filename": attachment.filename, "size": attachment.size}


def stash_entries(submission: Submission | None, page_id: str, entries: dict) -> dict:
    """The entries of a page posted after the session idled out, as they may wait in the signed session
    cookie until the resident signs in again: never My Number."""
    entries = {k: v for k, v in entries.items() if k != "csrf_token" and not k.startswith("action")}
    if submission is None:
        return entries
    return service.without_secrets(service.find_page(submission.form_version.definition, page_id), entries)
