"""Offices (課), resident accounts and staff accounts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAtMixin


class Office(Base):
    """An internal office (課) of the municipality; loaded from the catalogue's offices.yaml."""

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    #: How to reach the office, from offices.yaml: ``{phone, hours: {ja, en}, address: {ja, en}}``, each
    #: optional; None when the file says nothing.
    contact: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))

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


#: The roles a staff member can hold; a route step names one, ``/office/admin`` needs ``admin``.
STAFF_ROLES = ("clerk", "approver", "counter_clerk", "admin")
#: Roles that take effect only when a second administrator confirms them (four-eyes over who decides
#: and who administers): one administrator alone must not be able to make an approver.
PRIVILEGED_ROLES = ("approver", "admin")


class Staff(CreatedAtMixin, Base):
    """A member of staff of one office (課). Signing in takes a password and a TOTP code.

    ``totp_secret_enc`` is encrypted with ``app.fieldcrypt`` under MADOGUCHI_FIELD_KEY, bound to the
    context ``staff-totp:<id>``; read it with ``app.accounts.staff_service.totp_secret``.
    """

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased so sign-in and the unique constraint ignore case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), index=True)
    #: A list of names from STAFF_ROLES.
    roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: Privileged roles granted but not yet in effect: a second administrator confirms them.
    pending_roles: Mapped[list[str] | None] = mapped_column(sa.JSON)
    #: The administrator who asked for ``pending_roles`` (who may not confirm them); None: the command line.
    roles_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    #: 個人番号事務取扱担当者: designated to handle My Number (番号法): only such a member of the office
    #: whose step is current may reveal it.
    mynumber_handler: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    #: When the member set their password; None until they used their enrolment link.
    password_set_at: Mapped[dt.datetime | None]
    totp_secret_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    #: Set when the staff member confirmed the authenticator with a first code (or by the demo seed).
    totp_enrolled_at: Mapped[dt.datetime | None]
    #: The last successful TOTP check: actions such as sealing can ask for a recent second factor.
    last_second_factor_at: Mapped[dt.datetime | None]
    #: The 30-second time step of the last accepted code; a code of this step or an earlier one is refused.
    last_totp_step: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Bumped on sign-out and deactivation; a session naming an older version is dead.
    session_version: Mapped[int] = mapped_column(default=1)
    deactivated_at: Mapped[dt.datetime | None]

    office: Mapped[Office] = relationship(lazy="joined", innerjoin=True)

    def has_role(self, role: str) -> bool:
        return role in (self.roles or ())

    @property
    def is_enrolled(self) -> bool:
        return self.totp_enrolled_at is not None
