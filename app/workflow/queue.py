"""The office queues: open tasks of an office (or of one staff member) and all cases of an office.

Keyset pagination: a page is "rows after (created_at, id) of the last row seen", which uses the
(office_id, state, created_at, id) index and costs the same on page 1 and page 500.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from app.accounts.models import Staff
from app.catalogue.models import FormVersion
from app.db import utcnow
from app.extensions import db
from app.submissions.models import Submission
from app.submissions.receipts import normalise_receipt_number
from app.submissions.states import OPEN_STATES, State
from app.workflow.models import Approval, ApprovalState

PAGE_SIZE = 25
_RECEIPT_SHAPE = re.compile(r"\w{4}[-\u2010-\u2015\u30fc\uff0d ]\w{4}")


@dataclass
class QueueFilters:
    tab: str = "office"  # 'mine' | 'office' | 'all'
    form: str | None = None
    step: str | None = None
    state: str | None = None
    older_than_days: int | None = None
    q: str | None = None
    newest_first: bool = False
    after: str | None = None


def encode_cursor(created_at: dt.datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), row_id]).encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor:
        return None
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(created_at), int(row_id)
    except (ValueError, TypeError):
        return None  # a mangled cursor starts from the first page rather than failing


def _common_filters(query, filters: QueueFilters, age_column):
    if filters.form:
        query = query.where(FormVersion.slug == filters.form)
    if filters.older_than_days:
        query = query.where(age_column <= utcnow() - dt.timedelta(days=filters.older_than_days))
    if filters.q:
        receipt = normalise_receipt_number(filters.q)
        if receipt and _typed_as_receipt(filters.q):
            # Looked up by its unique index. A name search (a substring match) reads every row, so it
            # is left out when the text cannot be a name: names have no digits and no XXXX-XXXX shape.
            return query.where(Submission.receipt_number == receipt)
        name = filters.q.strip()
        conditions = [Submission.applicant_name.contains(name, autoescape=True)]
        if receipt:
            conditions.append(Submission.receipt_number == receipt)
        query = query.where(sa.or_(*conditions))
    return query


def _typed_as_receipt(text: str) -> bool:
    text = unicodedata.normalize("NFKC", text).strip()
    return any(c.isdigit() for c in text) or bool(_RECEIPT_SHAPE.fullmatch(text))


def _page(query, order_columns, filters: QueueFilters):
    cursor = decode_cursor(filters.after)
    created, ident = order_columns
    if cursor is not None:
        comparison = sa.tuple_(created, ident) < sa.tuple_(*cursor) if filters.newest_first else \
            sa.tuple_(created, ident) > sa.tuple_(*cursor)
        query = query.where(comparison)
    if filters.newest_first:
        query = query.order_by(created.desc(), ident.desc())
    else:
        query = query.order_by(created.asc(), ident.asc())
    rows = db.session.execute(query.limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    return rows[:PAGE_SIZE], more


#: A queue row needs the case's receipt number, name, state, dates and route, not its answers; nor the
#: form version's definition (tens of kilobytes of JSON, decoded again for every row that names it).
_LIST_COLUMNS_ONLY = (
    sa.orm.defer(Submission.answers), sa.orm.defer(Submission.progress), sa.orm.defer(Submission.sensitive_answers),
    sa.orm.defer(Submission.decision_message), sa.orm.defer(FormVersion.definition),
)


def task_page(staff: Staff, filters: QueueFilters):
    """Open approval tasks of the staff member's office (or only theirs), oldest task first."""
    query = (
        sa.select(Approval, Submission, FormVersion)
        .join(Submission, Approval.submission_id == Submission.id)
        .join(FormVersion, Submission.form_version_id == FormVersion.id)
        .where(Approval.office_id == staff.office_id, Approval.state == ApprovalState.PENDING)
        .options(*_LIST_COLUMNS_ONLY)
    )
    if filters.tab == "mine":
        query = query.where(Approval.assignee_id == staff.id)
    if filters.step:
        query = query.where(Approval.step_key == filters.step)
    query = _common_filters(query, filters, Approval.created_at)
    rows, more = _page(query, (Approval.created_at, Approval.id), filters)
    cursor = encode_cursor(rows[-1][0].created_at, rows[-1][0].id) if more else None
    return rows, cursor


def case_page(staff: Staff, filters: QueueFilters):
    """All cases of forms the staff member's office owns, in any state."""
    query = (
        sa.select(sa.null(), Submission, FormVersion)
        .join(FormVersion, Submission.form_version_id == FormVersion.id)
        .where(FormVersion.office_id == staff.office_id, Submission.state != State.DRAFT,
               # Implied by the state (submit sets it), but said so that newest-first pages scan the
               # (submitted_at, id) index backwards without first stepping over every draft's NULL.
               Submission.submitted_at.is_not(None))
        .options(*_LIST_COLUMNS_ONLY)
    )
    if filters.state:
        query = query.where(Submission.state == filters.state)
    query = _common_filters(query, filters, Submission.submitted_at)
    rows, more = _page(query, (Submission.submitted_at, Submission.id), filters)
    cursor = encode_cursor(rows[-1][1].submitted_at, rows[-1][1].id) if more else None
    return rows, cursor


#: service_level_days by FormVersion.checksum (the SHA-256 of the definition): keyed by content, so an
#: entry can never go stale, and the queue does not load a definition for each page.
_SERVICE_LEVELS: dict[str, int | None] = {}


def service_level_days(version: FormVersion) -> int | None:
    days = _SERVICE_LEVELS.get(version.checksum, False)
    if days is False:
        if len(_SERVICE_LEVELS) >= 1024:  # versions are few; the bound only keeps a long-lived process small
            _SERVICE_LEVELS.clear()
        days = _SERVICE_LEVELS[version.checksum] = version.definition.get("service_level_days")
    return days


def is_overdue(submission: Submission, now: dt.datetime | None = None) -> bool:
    """Past the form's service level (処理期間) and still undecided."""
    days = service_level_days(submission.form_version)
    if not days or submission.submitted_at is None or submission.state not in OPEN_STATES:
        return False
    return (now or utcnow()) - submission.submitted_at > dt.timedelta(days=days)
