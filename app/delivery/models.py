"""Destinations (送付先) and deliveries: the outbox of approved documents (DESIGN rule 2).

A delivery row carries what it prints and sends as plain data (receipt number, form, verification
code, the sending office), written when the case is approved: the channels need no case, and a
delivery keeps saying what it said even after the case's data is purged.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAtMixin, blob_reference
from app.jobs.models import LeasedWork

#: How a destination receives documents. 'fax_email' goes through an e-mail-to-fax gateway (ITU-T T.37),
#: 'fax_spool' into a fax server's spool folder (HylaFAX and the like).
CHANNELS = ("fax_email", "fax_spool", "email", "webhook")
#: pending → sending → sent | pending (retry) | dead; sending with an expired lease → unknown → sending.
DELIVERY_STATES = ("pending", "sending", "sent", "unknown", "dead")


class Destination(CreatedAtMixin, Base):
    """送付先: an external office that receives approved documents. Rows are never deleted, only
    deactivated, because deliveries name them for as long as the deliveries are kept."""

    __tablename__ = "destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    #: Digits and hyphens as printed (e.g. 03-1234-5678); the gateway is given the digits only.
    fax_number: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    webhook_url: Mapped[str | None] = mapped_column(sa.String(500))
    channel: Mapped[str] = mapped_column(sa.String(12))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: A change of where documents go (channel, fax number, address, URL, activation) waiting for a
    #: second administrator: {column: new value}. A mis-dialled fax is a reportable leak, so one
    #: administrator alone cannot redirect an office's documents.
    pending_change: Mapped[dict | None] = mapped_column(sa.JSON)
    #: The administrator who asked for ``pending_change`` (who may not confirm it).
    change_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    #: Outside the city government (法務局, a private care office): documents go there only with the
    #: resident's consent, asked on the check page and recorded with the submission.
    external: Mapped[bool] = mapped_column(default=False)

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ja


class Delivery(LeasedWork, CreatedAtMixin, Base):
    """One sealed document to one destination, written in the transaction that approves the case."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"))
    destination_id: Mapped[int] = mapped_column(sa.ForeignKey("destinations.id"))
    #: Fixed when written: a destination changed later does not reroute what is already queued.
    channel: Mapped[str] = mapped_column(sa.String(12))
    max_attempts: Mapped[int] = mapped_column(default=6)
    #: Sent with every attempt, so the receiver can recognise a resend after a crash.
    idempotency_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    #: The Message-ID of mail (both e-mail channels), the same on every attempt.
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    #: The exact sealed revision to send; resends reuse these bytes and never re-render.
    document_sha256: Mapped[str] = mapped_column(sa.String(64), info=blob_reference("documents"))
    #: What the delivery prints and says, fixed when written (the outbox knows no case).
    receipt_number: Mapped[str] = mapped_column(sa.String(20))
    form_slug: Mapped[str] = mapped_column(sa.String(80))
    form_title: Mapped[str] = mapped_column(sa.String(200))
    verification_code: Mapped[str] = mapped_column(sa.String(16))
    #: The office that owns the form: it sends the document (cover sheet) and sees the delivery.
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), index=True)
    office_name: Mapped[str] = mapped_column(sa.String(200))
    sent_at: Mapped[dt.datetime | None]

    destination: Mapped[Destination] = relationship()
