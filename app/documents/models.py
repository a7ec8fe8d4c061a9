"""Rendered documents and their revisions, and the rows of the database blob store.

A revision's bytes live in the blob store (app/documents/blobs.py) under their SHA-256: the instance
folder, or the ``blobs`` and ``blob_chunks`` rows below (``MADOGUCHI_BLOB_STORE=database``).

A document is rendered once and never again; each seal is an incremental update stored as a new
revision, so every revision a seal record names can be fetched and checked byte for byte.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAtMixin, blob_reference


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
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True, info=blob_reference("documents"))
    size: Mapped[int]
    #: 'rendered' (with its empty signature fields), 'seal:<field name>' or 'org-seal'.
    reason: Mapped[str] = mapped_column(sa.String(80))
    #: SHA-256 of a PNG image of each page of this revision (blob kind "pages"), rendered by the worker
    #: after a seal; None until then.
    page_images: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))

    document: Mapped[Document] = relationship(back_populates="revisions")


class Blob(CreatedAtMixin, Base):
    """One stored blob of the database backend: content-addressed, so a row never changes once written."""

    __tablename__ = "blobs"

    #: A kind of app.documents.blobs.KINDS ('documents', 'uploads', ...).
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)


class BlobChunk(Base):
    """A blob's bytes in pieces of at most CHUNK_SIZE, written and read one at a time: a large upload is
    never a single parameter (which the driver would copy whole) nor a single value in memory."""

    __tablename__ = "blob_chunks"
    __table_args__ = (sa.ForeignKeyConstraint(["kind", "sha256"], ["blobs.kind", "blobs.sha256"], ondelete="CASCADE"),)

    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: 0, 1, 2, ...: every blob has chunk 0 (empty for empty bytes); only the last may be shorter than CHUNK_SIZE.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
