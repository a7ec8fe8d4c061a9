"""Published form versions: immutable once stored."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Office
from app.db import Base, utcnow


class FormVersion(Base):
    """One published version of a form definition.

    ``definition`` is the validated definition with defaults applied; ``checksum`` (SHA-256 of its
    canonical JSON) lets ``catalogue sync`` tell an unchanged re-sync from an illegal edit.
    """

    __tablename__ = "form_versions"
    __table_args__ = (sa.UniqueConstraint("slug", "version", name="uq_form_versions_slug_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), index=True)
    version: Mapped[int]
    title_ja: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"))
    definition: Mapped[dict] = mapped_column(sa.JSON)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    office: Mapped[Office] = relationship()

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_ja
