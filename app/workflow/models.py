"""Approvals: one row per office that must agree at each step of a submission's route.

A step is complete when every approval row of that step (in the current round) is complete; a 合議
step lists several offices and so has several rows. A return (差し戻し) supersedes the round's open
rows; the resubmitted case starts a new round at step 1, so earlier approvals stay as history.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Office
from app.db import Base, CreatedAtMixin


class ApprovalState(StrEnum):
    """pending → approved (decision recorded) → complete (the step's seal applied), or superseded
    (returned, withdrawn or rejected before it was decided)."""

    PENDING = "pending"
    APPROVED = "approved"
    COMPLETE = "complete"
    SUPERSEDED = "superseded"


class Approval(CreatedAtMixin, Base):
    __tablename__ = "approvals"
    __table_args__ = (
        # The office queue: open tasks of one office, oldest first (keyset pagination on (created_at, id)).
        sa.Index("ix_approvals_office_id_state_created_at_id", "office_id", "state", "created_at", "id"),
        sa.Index("ix_approvals_submission_id_round_step_index", "submission_id", "round", "step_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"))
    #: Which pass through the route (1, then +1 on every resubmission).
    round: Mapped[int]
    #: Position of the step in the submission's route snapshot (0-based) and its key, e.g. 'kessai'.
    step_index: Mapped[int]
    step_key: Mapped[str] = mapped_column(sa.String(40))
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"))
    #: The role that may act: 'clerk' or 'approver'.
    role: Mapped[str] = mapped_column(sa.String(20))
    #: An ``ApprovalState``.
    state: Mapped[str] = mapped_column(sa.String(12), default=ApprovalState.PENDING)
    #: Claimed by (担当): the staff member working on it; anyone of the office and role may still act.
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    decided_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]

    office: Mapped[Office] = relationship()
