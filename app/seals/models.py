"""The seal PKI's certificates, the imprint registry (印影), CRL publications and seal records."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAtMixin, blob_reference


class SealCertificate(CreatedAtMixin, Base):
    __tablename__ = "seal_certificates"
    __table_args__ = (sa.Index("ix_seal_certificates_kind_staff_id", "kind", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 'root', 'issuing', 'org' (the organisation seal) or 'staff'.
    kind: Mapped[str] = mapped_column(sa.String(10))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    serial: Mapped[str] = mapped_column(sa.String(64))
    fingerprint: Mapped[str] = mapped_column(sa.String(64), unique=True)
    subject: Mapped[str] = mapped_column(sa.String(400))
    cert_pem: Mapped[str] = mapped_column(sa.Text)
    #: PKCS#8 encrypted under MADOGUCHI_KEY_PASSPHRASE; only the worker decrypts it. None for a key
    #: held in an HSM (then ``key_label`` names it on the token).
    key_pem_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    key_label: Mapped[str | None] = mapped_column(sa.String(100))
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    #: The certificate new seals of this kind (and staff member) use; older ones stay for verification.
    is_current: Mapped[bool] = mapped_column(default=True)
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(sa.String(40))


class Imprint(CreatedAtMixin, Base):
    """A staff member's registered 印影 (round 認印 / 日付印 style), tied to the certificate it seals with."""

    __tablename__ = "imprints"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("seal_certificates.id"))
    svg: Mapped[str] = mapped_column(sa.Text)

    certificate: Mapped[SealCertificate] = relationship()


class CrlPublication(CreatedAtMixin, Base):
    """A CRL, signed by the CLI or the worker (web processes hold no keys) and served under /pki/.

    The issuing CA's CRL (staff and organisation seal certificates) is /pki/crl.der; the root's
    (issuing CAs) is /pki/root-crl.der. A validator needs both to trust a chain offline.
    """

    __tablename__ = "crl_publications"
    __table_args__ = (sa.UniqueConstraint("issuer", "number", name="uq_crl_publications_issuer_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 'issuing' or 'root': whose CRL this is.
    issuer: Mapped[str] = mapped_column(sa.String(10))
    number: Mapped[int]
    crl_der: Mapped[bytes] = mapped_column(sa.LargeBinary)
    this_update: Mapped[dt.datetime]
    next_update: Mapped[dt.datetime]


class SealRecord(CreatedAtMixin, Base):
    """The SQL record of one seal: a signature over the canonical JSON of what was approved.

    A chain per submission (each names the previous record's hash) that verifies without any PDF and
    detects an answer changed in the database afterwards.
    """

    __tablename__ = "seal_records"
    __table_args__ = (sa.UniqueConstraint("submission_id", "seq", name="uq_seal_records_submission_id_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    seq: Mapped[int]
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"))
    approval_id: Mapped[int | None] = mapped_column(sa.ForeignKey("approvals.id"))
    #: The signature field in the PDF, e.g. 'step-1-uketsuke-shimin' or 'org-seal'.
    field_name: Mapped[str] = mapped_column(sa.String(80))
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("seal_certificates.id"))
    #: The canonical JSON that was signed (sorted keys, UTF-8), kept verbatim.
    payload: Mapped[str] = mapped_column(sa.Text)
    signature: Mapped[bytes] = mapped_column(sa.LargeBinary)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: SHA-256 of the document revision the PDF signature was applied to, and of the result.
    signed_revision_sha256: Mapped[str] = mapped_column(sa.String(64), info=blob_reference("documents"))
    result_revision_sha256: Mapped[str | None] = mapped_column(sa.String(64), info=blob_reference("documents"))

    certificate: Mapped[SealCertificate] = relationship()
