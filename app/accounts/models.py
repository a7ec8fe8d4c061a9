"""Offices (課) and resident accounts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAtMixin


class Office(Base):
    """An internal office (課) of the municipality; loaded from the catalogue's offices.yaml."""

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ja


class Resident(CreatedAtMixin, Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased so sign-in and the unique constraint ignore case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[str] = mapped_column(sa.String(5), default="ja")
    email_confirmed_at: Mapped[dt.datetime | None]
    #: Bumped on sign-out everywhere and on password change; a session naming an older version is dead.
    session_version: Mapped[int] = mapped_column(default=1)
    last_sign_in_at: Mapped[dt.datetime | None]

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None
