"""The ``jobs`` table, and the leased-work columns it shares with the delivery outbox."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, utcnow


class LeasedWork:
    """Columns of a row a worker claims with a lease, retries with backoff and gives up on (dead).

    A claimed row whose ``lease_until`` has passed is taken to have lost its worker.
    """

    state: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    worker_id: Mapped[str | None] = mapped_column(sa.String(80))
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Job(LeasedWork, CreatedAtMixin, Base):
    """pending → running → done | pending (retry) | dead."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Handler name, e.g. 'mail'.
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    #: Unique per message so a retried enqueue cannot send twice.
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    finished_at: Mapped[dt.datetime | None]
