"""Background jobs: rows claimed by the worker with a lease (the outbox of DESIGN.md)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin, utcnow


class Job(CreatedAtMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Handler name, e.g. 'mail'.
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    #: pending → running → done | pending (retry) | dead
    state: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: A running job whose lease has passed is taken to have lost its worker.
    lease_until: Mapped[dt.datetime | None]
    worker_id: Mapped[str | None] = mapped_column(sa.String(80))
    #: Unique per message so a retried enqueue cannot send twice.
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    finished_at: Mapped[dt.datetime | None]
