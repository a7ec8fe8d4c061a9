"""Declarative base with a constraint naming convention and UTC timestamps.

Named constraints make Alembic migrations deterministic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: On SQLite, whether transactions begin with BEGIN IMMEDIATE (take the write lock at once).
#: A deferred transaction that reads and then writes fails with SQLITE_BUSY if another writer
#: committed in between, so anything that may write declares it up front; pure reads stay deferred
#: and never block writers (WAL).
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def writes(view):
    """Mark a view that writes even when read with GET (an audited read, a restored entry): on SQLite its
    request's transaction then takes the write lock from its first statement (``write_intent``)."""
    view.writes = True
    return view


@contextlib.contextmanager
def intending_to_write():
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


@contextlib.contextmanager
def only_reading():
    """A deferred (read) transaction even inside a writer's intent (the worker preparing a fax raster
    must not hold SQLite's write lock meanwhile)."""
    token = write_intent.set(False)
    try:
        yield
    finally:
        write_intent.reset(token)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use app.db.utcnow()")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} {ident}>"


def blob_reference(kind: str) -> dict:
    """``info`` of a column that names a blob of ``kind`` by its SHA-256 (``mapped_column(..., info=...)``):
    ``flask blobs check`` finds every such column in the metadata, so a new one needs nothing more."""
    return {"blob_kind": kind}


class CreatedAtMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
