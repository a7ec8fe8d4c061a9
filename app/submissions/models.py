"""A resident's filled-in form, from draft to decision, and its history."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Resident
from app.catalogue.models import FormVersion
from app.db import Base, CreatedAtMixin, blob_reference, utcnow
from app.submissions.states import State


class Submission(CreatedAtMixin, Base):
    __tablename__ = "submissions"
    __table_args__ = (
        sa.Index("ix_submissions_resident_id_updated_at", "resident_id", "updated_at"),
        sa.Index("ix_submissions_state_submitted_at", "state", "submitted_at"),
        # The office's all-cases tab: keyset pages in submission order (app.workflow.queue.case_page).
        sa.Index("ix_submissions_submitted_at_id", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"))
    #: The version the resident filled against; the submission renders with it forever.
    form_version_id: Mapped[int] = mapped_column(sa.ForeignKey("form_versions.id"))
    #: A ``State`` (app.submissions.states); denormalised from the history for queries.
    state: Mapped[str] = mapped_column(sa.String(20), default=State.DRAFT)
    #: 受付番号, assigned on submit.
    receipt_number: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    #: Answers by field name, normalised where they passed validation. Sensitive values are not here.
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Draft bookkeeping: {"completed": [page ids], "pending": {page id: entries that failed validation}}.
    progress: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Sensitive answers (My Number), AES-GCM encrypted JSON (app.fieldcrypt); read with
    #: ``app.submissions.service.read_sensitive``.
    sensitive_answers: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    #: Applicant's display name copied at submit, for search and the office queue.
    applicant_name: Mapped[str | None] = mapped_column(sa.String(200))
    #: Message to the resident on return (差し戻し) or the reason on reject (却下).
    decision_message: Mapped[str | None] = mapped_column(sa.Text)
    #: The approval route copied from the definition when the case first enters review: a later
    #: change of the definition's route applies to new submissions only.
    route: Mapped[list | None] = mapped_column(sa.JSON)
    #: Index into ``route`` of the step now being worked, while in review.
    current_step: Mapped[int | None]
    #: Pass through the route: 1 at first, +1 on every resubmission after a return.
    round: Mapped[int] = mapped_column(default=0)
    #: The resident's answer, on the check page, for each external destination of the form: ``{code: true|false}``
    #: (true: consented to its receiving the approved document). Recorded at each submit and resubmit;
    #: without a true, no delivery is written for that destination.
    destination_consents: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    #: Set when a counter clerk (窓口職員) entered the form on the resident's behalf (four-eyes rule).
    filed_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]

    resident: Mapped[Resident] = relationship()
    form_version: Mapped[FormVersion] = relationship()
    history: Mapped[list[SubmissionHistory]] = relationship(
        back_populates="submission", order_by="SubmissionHistory.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class SubmissionHistory(Base):
    """Append-only record of every state change, comment, claim and reassignment."""

    __tablename__ = "submission_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str] = mapped_column(sa.String(20))
    #: 'resident', 'staff' or 'system'
    actor_type: Mapped[str] = mapped_column(sa.String(10))
    actor_id: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(sa.Text)
    #: The route step an approval or return concerns, e.g. 'kessai'.
    step_key: Mapped[str | None] = mapped_column(sa.String(40))
    #: Internal comments and claims are for staff only; the resident's timeline leaves them out.
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="history")


class Attachment(CreatedAtMixin, Base):
    """An uploaded file; the bytes live in the blob store (app/documents/blobs.py) under their SHA-256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    field_name: Mapped[str] = mapped_column(sa.String(80))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), info=blob_reference("uploads"))

    submission: Mapped[Submission] = relationship(back_populates="attachments")
