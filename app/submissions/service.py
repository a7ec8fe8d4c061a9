"""Drafts, pages, attachments, submit and withdraw. Services flush; the request commits once."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app import jp
from app.accounts.models import Resident
from app.audit.service import record as audit
from app.catalogue.definition import is_shown
from app.catalogue.models import FormVersion
from app.catalogue.service import latest_version
from app.db import utcnow
from app.documents import blobs
from app.errors import InvalidTransition, NotFound
from app.extensions import db
from app.fieldcrypt import decrypt_json, encrypt_json
from app.jobs.mail import queue_mail
from app.jobs.queue import enqueue
from app.submissions import errand
from app.submissions.models import Attachment, Submission, SubmissionHistory
from app.submissions.receipts import new_receipt_number
from app.submissions.signals import submission_withdrawn
from app.submissions.states import Action, State, next_state

# ---- visibility -----------------------------------------------------------------------------------


def visible_pages(definition: dict, answers: dict) -> list[dict]:
    return [page for page in definition["pages"] if is_shown(page.get("show_if"), answers)]


def visible_fields(page: dict, answers: dict) -> list[dict]:
    return [field for field in page["fields"] if is_shown(field.get("show_if"), answers)]


def find_page(definition: dict, page_id: str) -> dict:
    for page in definition["pages"]:
        if page["id"] == page_id:
            return page
    raise NotFound()


def neighbour_pages(definition: dict, answers: dict, page_id: str) -> tuple[dict | None, dict | None]:
    pages = visible_pages(definition, answers)
    ids = [p["id"] for p in pages]
    if page_id not in ids:
        return None, pages[0] if pages else None
    index = ids.index(page_id)
    return (pages[index - 1] if index > 0 else None), (pages[index + 1] if index + 1 < len(pages) else None)


# ---- drafts -----------------------------------------------------------------------------------------


def start_draft(resident: Resident, slug: str) -> Submission:
    """Resume the resident's open draft of this form, or start one on the latest published version.

    Resuming (rather than creating) makes a double-clicked 「申請を始める」 harmless.
    """
    version = latest_version(slug)
    if version is None:
        raise NotFound()
    existing = db.session.scalar(
        sa.select(Submission)
        .join(FormVersion)
        .where(Submission.resident_id == resident.id, Submission.state == State.DRAFT, FormVersion.slug == slug)
        .order_by(Submission.updated_at.desc())
        .limit(1)
    )
    if existing is not None:
        return existing
    draft = Submission(resident=resident, form_version=version, state=State.DRAFT, answers={}, progress={})
    db.session.add(draft)
    db.session.flush()
    return draft


def save_page(draft: Submission, page: dict, values: dict, *, sensitive: dict | None = None) -> None:
    """Store a page's validated answers and mark it complete."""
    answers = dict(draft.answers)
    answers.update(values)
    draft.answers = _prune_hidden(draft.form_version.definition, answers)
    progress = dict(draft.progress or {})
    progress["completed"] = sorted(set(progress.get("completed", [])) | {page["id"]})
    pending = dict(progress.get("pending", {}))
    pending.pop(page["id"], None)
    progress["pending"] = pending
    draft.progress = progress
    if sensitive:
        stored = read_sensitive(draft)
        stored.update(sensitive)
        draft.sensitive_answers = encrypt_json(
            stored, secret=current_app.config["MADOGUCHI_FIELD_KEY"], context=f"submission:{draft.id}"
        )
    db.session.flush()


#: Bounds on entries kept as typed (``save_pending``): the page's own fields only, each value cut at
#: this many characters (the longest answer a field takes is 2,000), at most this many values per key
#: (a repeating group's items), and this many bytes of entries per page and per draft.
PENDING_VALUE_MAX_CHARS = 2000
PENDING_VALUES_PER_KEY = 100
PENDING_PAGE_MAX_BYTES = 64 * 1024
PENDING_DRAFT_MAX_BYTES = 256 * 1024


def without_secrets(page: dict, formdata: dict) -> dict:
    """The entries of a page's form that may be kept in plain text: only the page's own fields (a name
    field's parts and a group's items included: ``name-family``, ``children-0-name``), never My Number
    (the resident types it again), nor the CSRF token or the button that was pressed; values bounded."""
    field_names = {f["name"] for f in page["fields"]}
    secret_names = {f["name"] for f in page["fields"] if f["type"] == "mynumber"}
    kept = {}
    for key, values in formdata.items():
        base = key.split("-")[0]
        if base not in field_names or base in secret_names:
            continue
        values = values if isinstance(values, list) else [values]
        kept[key[:200]] = [str(value)[:PENDING_VALUE_MAX_CHARS] for value in values[:PENDING_VALUES_PER_KEY]
                           if isinstance(value, str)]
    return kept


def _json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def save_pending(draft: Submission, page: dict, formdata: dict) -> bool:
    """Keep entries that did not pass validation, so leaving and coming back loses nothing.

    Only the page's fields, bounded (see ``without_secrets``); a page's entries over
    ``PENDING_PAGE_MAX_BYTES``, or a draft whose kept entries would pass ``PENDING_DRAFT_MAX_BYTES``,
    are not stored (returns False): no real page comes near, and a draft must not become storage.
    """
    kept = without_secrets(page, formdata)
    if _json_size(kept) > PENDING_PAGE_MAX_BYTES:
        return False
    others = {key: value for key, value in (draft.progress or {}).get("pending", {}).items() if key != page["id"]}
    if _json_size(others) + _json_size(kept) > PENDING_DRAFT_MAX_BYTES:
        return False
    progress = dict(draft.progress or {})
    pending = dict(progress.get("pending", {}))
    pending[page["id"]] = kept
    progress["pending"] = pending
    draft.progress = progress
    db.session.flush()
    return True


def read_sensitive(submission: Submission) -> dict:
    """Decrypt the sensitive answers. Callers on the staff side must audit the read."""
    return decrypt_json(
        submission.sensitive_answers, secret=current_app.config["MADOGUCHI_FIELD_KEY"],
        context=f"submission:{submission.id}",
    ) or {}


def _prune_hidden(definition: dict, answers: dict) -> dict:
    """Answers to questions that are no longer asked are dropped, so they are never submitted."""
    kept = {}
    for page in visible_pages(definition, answers):
        for field in visible_fields(page, answers):
            if field["name"] in answers:
                kept[field["name"]] = answers[field["name"]]
    return kept


def incomplete_pages(submission: Submission) -> list[dict]:
    """Visible pages not yet completed (or holding entries that failed validation), in order."""
    progress = submission.progress or {}
    done = set(progress.get("completed", []))
    pending = progress.get("pending", {})
    return [page for page in visible_pages(submission.form_version.definition, submission.answers)
            if page["id"] not in done or page["id"] in pending]


# ---- attachments ---------------------------------------------------------------------------------


def attachment_bytes(attachment: Attachment) -> bytes:
    """An uploaded file's bytes, checked against their hash."""
    return blobs.get("uploads", attachment.sha256)


def download_name(attachment: Attachment) -> str:
    """The name an attachment is downloaded under: its stem and the extension of what it really is
    (names stored before extensions were fixed on upload are corrected here too)."""
    kind = jp.kind_for_content_type(attachment.content_type)
    return Path(attachment.filename).stem + jp.extension_for(kind)


def store_attachment(draft: Submission, spec: dict, filename: str, stream: BinaryIO) -> Attachment:
    """Check an upload (type sniffed from its first bytes, size limit) and store it by SHA-256.

    ``stream`` is seekable (Werkzeug's spooled temporary file): it is judged by its head and size, then
    stored a chunk at a time, so a large file is never read whole into memory.
    """
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    kind = jp.check_upload_head(stream.read(jp.HEAD_BYTES), size, accept=spec.get("accept", jp.UPLOAD_KINDS),
                                max_bytes=spec.get("max_bytes") or current_app.config["UPLOAD_MAX_BYTES"])
    sha256, size = blobs.put_stream("uploads", stream)
    for old in [a for a in draft.attachments if a.field_name == spec["name"]]:
        draft.attachments.remove(old)
    # The sender's name without their extension: the one offered is the sniffed kind's (an HTML page
    # named evil.html that starts with %PDF- is offered as evil.pdf, and opens as a PDF).
    stem = Path(Path(filename or "upload").name).stem[-180:] or "upload"
    safe_name = stem + jp.extension_for(kind)
    attachment = Attachment(field_name=spec["name"], filename=safe_name, content_type=jp.content_type_for(kind),
                            size=size, sha256=sha256)
    draft.attachments.append(attachment)
    db.session.flush()
    return attachment


# ---- state changes ------------------------------------------------------------------------------


def record_history(submission: Submission, action: str, from_state: str | None, *, actor_type: str,
                   actor_id: int | None, message: str | None = None, step_key: str | None = None,
                   internal: bool = False) -> SubmissionHistory:
    entry = SubmissionHistory(submission=submission, action=action, from_state=from_state,
                              to_state=submission.state, actor_type=actor_type, actor_id=actor_id, message=message,
                              step_key=step_key, internal=internal)
    db.session.add(entry)
    return entry


def _append_history(submission: Submission, action: str, from_state: str) -> int:
    """The resident's history entry for a filing, as one INSERT; returns how many entries the case now has.

    Filing is the busiest write (scripts/bench/submit.py): a plain INSERT and a COUNT cost a fraction
    of adding the entry to ``submission.history``, which loads every earlier entry as objects and
    flushes through the unit of work. The count is what ``len(submission.history)`` would give.
    """
    db.session.execute(sa.insert(SubmissionHistory).values(
        submission_id=submission.id, action=action, from_state=from_state, to_state=submission.state,
        actor_type="resident", actor_id=submission.resident_id, internal=False, created_at=utcnow()))
    db.session.expire(submission, ["history"])  # loaded before? then it lacks the new entry
    return db.session.scalar(sa.select(sa.func.count()).select_from(SubmissionHistory)
                             .where(SubmissionHistory.submission_id == submission.id))


def _applicant_name(submission: Submission) -> str | None:
    for page in submission.form_version.definition["pages"]:
        for field in page["fields"]:
            value = submission.answers.get(field["name"])
            if field["type"] == "name" and value:
                return f"{value.get('family', '')} {value.get('given', '')}".strip()
    return None


ENTER_ROUTE_JOB = "workflow.enter_route"


def submit(submission: Submission, consents: dict[str, bool] | None = None) -> bool:
    """Submit a complete draft exactly once (draft → submitted). False if a racing request already did.

    ``consents``: the resident's answer for each external destination (``app.submissions.receivers``).
    """
    return _file(submission, Action.SUBMIT, consents)


def resubmit(submission: Submission, consents: dict[str, bool] | None = None) -> bool:
    """Send a returned case, with the resident's corrections, back into review (returned → submitted)."""
    return _file(submission, Action.RESUBMIT, consents)


def _file(submission: Submission, action: Action, consents: dict[str, bool] | None) -> bool:
    """The conditional UPDATE is the idempotency guard: of two racing requests (a double click, a
    retried POST) only one still sees the row in its old state; the other changes nothing.
    """
    new_state = next_state(submission.state, action)
    if incomplete_pages(submission):
        raise InvalidTransition("incomplete")
    from_state = submission.state
    now = utcnow()
    values = {"state": new_state.value, "submitted_at": now, "updated_at": now,
              "applicant_name": _applicant_name(submission), "decision_message": None,
              "destination_consents": dict(consents or {})}
    for _attempt in range(5):
        if action == Action.SUBMIT:
            values["receipt_number"] = new_receipt_number()
        try:
            with db.session.begin_nested():
                result = db.session.execute(
                    sa.update(Submission).where(Submission.id == submission.id, Submission.state == from_state)
                    .values(**values).execution_options(synchronize_session=False)
                )
            break
        except IntegrityError:  # a receipt number collision: draw another
            continue
    else:
        raise RuntimeError("could not allocate a receipt number")
    if result.rowcount != 1:
        db.session.refresh(submission)  # a racing request changed the row: show what it stored
        return False
    # The row now holds exactly ``values``: put them on the object as loaded state instead of
    # reading the row back (a refresh would also drop the loaded form version and load it again).
    for name, value in values.items():
        set_committed_value(submission, name, value)
    entries = _append_history(submission, action.value, from_state)
    # The worker moves the case into review (and, with documents, renders it first).
    enqueue(ENTER_ROUTE_JOB, {"submission_id": submission.id}, idempotency_key=f"enter_route:{submission.id}:{entries}")
    # One receipt mail per filing; entering review (the worker, a moment later) sends none.
    notify_resident(submission, template="submission_received" if action == Action.SUBMIT else "resubmission_received",
                    history_count=entries)
    # Last: on PostgreSQL the append holds the ledger's lock until commit, so nothing else waits behind it.
    audit(f"submission.{action.value}", actor_type="resident", actor_id=submission.resident_id,
          subject_type="submission", subject_id=submission.id,
          data={"from": from_state, "to": submission.state,
                "consented": sorted(code for code, given in values["destination_consents"].items() if given),
                "declined": sorted(code for code, given in values["destination_consents"].items() if not given)})
    return True


def withdraw(submission: Submission) -> None:
    """The resident takes the case back (submitted, in review or returned → withdrawn).

    Sends ``submission_withdrawn`` in this transaction: the workflow ends the case's open tasks.
    """
    new_state = next_state(submission.state, Action.WITHDRAW)
    from_state = submission.state
    submission.state = new_state.value
    submission.decided_at = utcnow()
    submission.current_step = None
    submission_withdrawn.send(submission)
    record_history(submission, Action.WITHDRAW, from_state, actor_type="resident", actor_id=submission.resident_id)
    audit("submission.withdraw", actor_type="resident", actor_id=submission.resident_id,
          subject_type="submission", subject_id=submission.id, data={"from": from_state, "to": submission.state})
    notify_resident(submission)
    db.session.flush()


#: The one mail for each state the resident must hear about; entering review is not one of them.
MAIL_FOR_STATE = {
    State.SUBMITTED: "submission_received",
    State.RETURNED: "submission_returned",
    State.APPROVED: "submission_approved",
    State.REJECTED: "submission_rejected",
    State.WITHDRAWN: "submission_withdrawn",
}


def notify_resident(submission: Submission, template: str | None = None, *,
                    history_count: int | None = None) -> None:
    """Tell the resident, by e-mail in their language, what they must know of the case's new state (a mail
    job in this transaction): one mail per thing to know, none when there is nothing (entering review).

    ``template``: a mail of ``templates/mail/`` (default: the state's, ``MAIL_FOR_STATE``);
    ``history_count``: the case's number of history entries, when the caller already knows it.
    """
    template = template or MAIL_FOR_STATE.get(State(submission.state))
    if template is None:
        return
    resident = submission.resident
    if history_count is None:
        history_count = len(submission.history)
    base = current_app.config["MADOGUCHI_BASE_URL"]
    version = submission.form_version
    office = version.office
    queue_mail(
        to=resident.email,
        template=template,
        locale=resident.locale,
        idempotency_key=f"{template}:{submission.id}:{submission.state}:{history_count}",
        receipt_number=submission.receipt_number,
        title=version.title(resident.locale),
        state=submission.state,
        message=submission.decision_message,
        status_url=f"{base}/submissions/{submission.id}",
        # The page where a returned case is corrected: the check page, with 「変更する」 for each part.
        fix_url=f"{base}/drafts/{submission.id}",
        # Called in the mail's own language (queue_mail renders it under the resident's locale).
        next_steps=lambda decided=False: errand.next_steps(version, submission.answers, submission.submitted_at,
                                                           decided=decided),
        office_name=office.name(resident.locale),
        office_phone=(office.contact or {}).get("phone", ""),
        office_hours=(office.contact or {}).get("hours"),
    )


def discard_draft(draft: Submission) -> None:
    if draft.state != State.DRAFT:
        raise InvalidTransition("only drafts can be discarded")
    db.session.delete(draft)
    db.session.flush()


# ---- what a seal commits to -------------------------------------------------------------------------


def _canonical_sha256(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


def content_hashes(submission: Submission) -> dict:
    """The hashes of a case's content that each seal record signs, recomputed at verification to detect
    an answer, a sensitive answer or an attachment changed in the database afterwards."""
    return {
        "answers_sha256": _canonical_sha256(submission.answers),
        "sensitive_sha256": _canonical_sha256(read_sensitive(submission)),
        "attachments": {a.field_name: a.sha256 for a in submission.attachments},
    }
