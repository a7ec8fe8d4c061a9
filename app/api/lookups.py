"""Anonymous verification lookups, counted per code and per day instead of one ledger entry each.

A lookup (``/verify/<code>``, an upload, ``/api/v1/verify``) bumps one counter row, on a connection of
its own once the request's transaction has ended: a public endpoint must not write the hash-chained
ledger under its global append lock (one append per request was write amplification anyone could
cause). Each day the worker turns the previous days' counters into one ``verify.lookups`` ledger entry
per code and day, and deletes them.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, g
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.audit.service import record as audit
from app.db import Base, intending_to_write
from app.documents.models import Document
from app.extensions import db
from app.i18n import JST
from app.jobs.worker import WorkSource, register_source

#: The counter of lookups that found no document (a mistyped code, a file the service did not issue).
NO_DOCUMENT = "-"


class VerificationLookup(Base):
    __tablename__ = "verification_lookups"

    #: The day in Japan.
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    #: The document's verification code (16 characters), or "-" when none was found.
    code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    #: 'code' (a page or QR), 'upload', 'api-code', 'api-upload'
    how: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    count: Mapped[int]


def today() -> dt.date:
    return dt.datetime.now(JST).date()


def count(code: str | None, how: str) -> None:
    """Count a lookup; stored when the request's transaction has ended (``register``)."""
    g.setdefault("verify_lookups", []).append((code or NO_DOCUMENT, how))


def _store(lookups: list[tuple[str, str]]) -> None:
    table = VerificationLookup.__table__
    with intending_to_write(), db.engine.begin() as connection:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        for code, how in lookups:
            statement = insert(table).values(day=today(), code=code, how=how, count=1)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[table.c.day, table.c.code, table.c.how], set_={"count": table.c.count + 1}))


def register_counting(*blueprints: Blueprint) -> None:
    def store_lookups(_exc):
        lookups = g.pop("verify_lookups", None)
        if lookups:
            _store(lookups)

    for blueprint in blueprints:
        blueprint.teardown_request(store_lookups)


# ---- the worker's daily entry ----------------------------------------------------------------------


def rollup_due() -> bool:
    """Whether counters of a finished day wait (a read; ends its transaction, as the worker's wake-up needs)."""
    try:
        return db.session.scalar(sa.select(VerificationLookup.day).where(VerificationLookup.day < today())
                                 .limit(1)) is not None
    finally:
        db.session.rollback()


def write_ledger_entries(_worker_id: str, limit: int | None) -> int:
    """One ``verify.lookups`` entry per code and finished day (subject: the document), then the counters go."""
    rows = db.session.execute(
        sa.select(VerificationLookup.day, VerificationLookup.code, VerificationLookup.how, VerificationLookup.count)
        .where(VerificationLookup.day < today()).order_by(VerificationLookup.day, VerificationLookup.code)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    totals: dict[tuple[dt.date, str], dict[str, int]] = {}
    for day, code, how, number in rows:
        totals.setdefault((day, code), {})[how.replace("-", "_")] = number
    written = 0
    for (day, code), by_how in totals.items():
        if limit is not None and written >= limit:
            break
        document_id = None if code == NO_DOCUMENT else db.session.scalar(
            sa.select(Document.id).where(Document.verification_code == code))
        audit("verify.lookups", actor_type="public", subject_type="document", subject_id=document_id,
              data={"day": day.isoformat(), "found": code != NO_DOCUMENT, "lookups": sum(by_how.values()),
                    **by_how})
        db.session.execute(sa.delete(VerificationLookup).where(VerificationLookup.day == day,
                                                               VerificationLookup.code == code))
        written += 1
    db.session.commit()
    return written


def register() -> None:
    register_source(WorkSource("verify.lookups", run=write_ledger_entries, due=rollup_due))
