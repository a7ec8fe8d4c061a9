"""The ``audit_events`` table: one row per event, chained by hash. Rows are only ever inserted."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # The resident's "who looked at my submission" page looks events up by subject.
        sa.Index("ix_audit_events_subject_type_subject_id", "subject_type", "subject_id"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint("actor_type IN ('resident', 'staff', 'system', 'public')", name="actor_type"),
    )

    #: Gapless, assigned by ``service.record`` as head + 1 under a lock. Not a database sequence: those
    #: leave gaps on rollback and do not commit in order.
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: 'resident' | 'staff' | 'system' | 'public'
    actor_type: Mapped[str] = mapped_column(sa.String(10))
    actor_id: Mapped[int | None]
    #: e.g. 'submission.submit', 'case.view', 'mynumber.read'
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    #: Ids, action and state names, hashes: never personal data (see ``chain.check_data``).
    data: Mapped[dict] = mapped_column(sa.JSON)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"


# The ORM never changes or removes an event; the chain would catch it, but a bug should fail loudly
# where it happens rather than at the next nightly verify.
@sa.event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise RuntimeError(f"audit event {target.seq} is append-only")


@sa.event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise RuntimeError(f"audit event {target.seq} is append-only")
