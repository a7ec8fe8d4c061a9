"""Rendered documents and their revisions. Bytes live in the instance folder under their SHA-256.

A document is rendered once and never again; each seal is an incremental update stored as a new
revision, so every revision a seal record names can be fetched and checked byte for byte.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAtMixin


class Document(CreatedAtMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (sa.Index("ix_documents_submission_id_kind", "submission_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"))
    #: 'receipt' (受付控, for the resident at submission) or 'approval' (the document the seals go on).
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: The submission's round when rendered: a resubmitted case gets a new approval document.
    round: Mapped[int] = mapped_column(default=0)
    #: 16 Crockford base32 characters (80 bits from a CSPRNG), printed grouped on every page of a document
    #: that carries seals. None for a receipt: a copy of what was filed has nothing to verify, so it
    #: prints no code (receipts rendered before this rule kept theirs; /verify says what they are).
    verification_code: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    #: 'current' or 'superseded' (a return made the answers change; the old seals stay in history).
    state: Mapped[str] = mapped_column(sa.String(12), default="current")
    #: Set when rendering failed (a limit was hit); shown to staff on the case page.
    render_error: Mapped[str | None] = mapped_column(sa.Text)
    superseded_at: Mapped[dt.datetime | None]
    #: What the document printed, as text: ``[{title, rows: [{label, value, items}]}]``, kept when it is
    #: rendered so that verification shows exactly what the paper must say, whatever later code or
    #: catalogue versions would print. None for documents rendered before it was kept.
    printed: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))

    revisions: Mapped[list[DocumentRevision]] = relationship(
        back_populates="document", order_by="DocumentRevision.seq", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> DocumentRevision | None:
        return self.revisions[-1] if self.revisions else None


class DocumentRevision(CreatedAtMixin, Base):
    __tablename__ = "document_revisions"
    __table_args__ = (sa.UniqueConstraint("document_id", "seq", name="uq_document_revisions_document_id_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"))
    seq: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    #: 'rendered' (with its empty signature fields), 'seal:<field name>' or 'org-seal'.
    reason: Mapped[str] = mapped_column(sa.String(80))
    #: SHA-256 of a PNG image of each page of this revision (blob kind "pages"), rendered by the worker
    #: after a seal; None until then.
    page_images: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))

    document: Mapped[Document] = relationship(back_populates="revisions")
