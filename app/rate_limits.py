"""Rate-limit counters in SQL: a storage for the ``limits`` library (Flask-Limiter) that every process and
node of a deployment shares, without another server to run (ASVS 2.4.1, 6.3.1).

``RATELIMIT_STORAGE_URI = "database://"`` selects it (the default; ``memory://`` counts per process and is
refused in production); ``RATELIMIT_STORAGE_OPTIONS["url"]`` is the app's database URL. On PostgreSQL
the counters live in the app's database (table ``rate_limit_counters``, made by the migrations). On
SQLite they live in a file beside the database (``<database>-ratelimits``, the table made on first
use): SQLite has one writer per file, and a counter bumped inside a request that already holds that
file's write lock would wait for the request itself. A SQLite deployment is one node anyway.

Each counter is one row, bumped by a single atomic upsert in its own autocommit statement, so a
request that rolls back keeps its count and two processes counting at once never lose an increment.
Fixed windows only (Flask-Limiter's default strategy). No Flask imports.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from pathlib import Path

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

#: Rows past their window are deleted every this many increments of a process.
PURGE_EVERY = 500


class RateLimitCounter(Base):
    __tablename__ = "rate_limit_counters"

    #: Flask-Limiter's key: the limit, the route and the caller's key (an IP, a hashed address, an id).
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int]
    #: Unix time (seconds) the window ends.
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)


TABLE = RateLimitCounter.__table__


def storage_url(database_url: str) -> str:
    """Where the counters of an app with this database live (see the module docstring)."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return "sqlite://"
        return str(url.set(database=f"{database}-ratelimits"))
    return database_url


class DatabaseStorage(Storage):
    """``database://``: fixed-window counters in SQL."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, url: str | None = None,
                 **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if not url:
            raise ValueError("database:// rate-limit storage needs RATELIMIT_STORAGE_OPTIONS['url']")
        target = storage_url(url)
        sqlite_file = target.startswith("sqlite")
        self._engine = sa.create_engine(
            target, isolation_level="AUTOCOMMIT", pool_pre_ping=True, hide_parameters=True,
            **({"connect_args": {"timeout": 10}} if sqlite_file else {"pool_size": 2, "max_overflow": 8}))
        if sqlite_file:
            if self._engine.url.database:
                Path(self._engine.url.database).parent.mkdir(parents=True, exist_ok=True)

            @sa.event.listens_for(self._engine, "connect")
            def _wal(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        # A storage owns its pool: close it when the storage goes (a replaced limiter storage, a
        # short-lived one), not leave its connections to the garbage collector.
        weakref.finalize(self, self._engine.dispose)
        self._insert = sqlite.insert if sqlite_file else postgresql.insert
        self._sqlite = sqlite_file
        self._table_ready = not sqlite_file
        self._lock = threading.Lock()
        self._increments = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def _connect(self) -> sa.engine.Connection:
        connection = self._engine.connect()
        if not self._table_ready:
            with self._lock:
                if not self._table_ready:
                    TABLE.create(connection, checkfirst=True)
                    self._table_ready = True
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = TABLE
        expired = table.c.expires_at <= now
        statement = self._insert(table).values(key=key, count=amount, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": sa.case((expired, amount), else_=table.c.count + amount),
                "expires_at": sa.case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with self._connect() as connection:
            count = connection.execute(statement).scalar_one()
            if next(self._increments) % PURGE_EVERY == 0:
                connection.execute(sa.delete(table).where(table.c.expires_at < now - 3600))
        return int(count)

    def get(self, key: str) -> int:
        with self._connect() as connection:
            count = connection.execute(
                sa.select(TABLE.c.count).where(TABLE.c.key == key, TABLE.c.expires_at > time.time())).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with self._connect() as connection:
            expires = connection.execute(sa.select(TABLE.c.expires_at).where(TABLE.c.key == key)).scalar()
        return float(expires) if expires is not None else time.time()

    def check(self) -> bool:
        try:
            with self._connect() as connection:
                connection.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._connect() as connection:
            return connection.execute(sa.delete(TABLE)).rowcount

    def clear(self, key: str) -> None:
        with self._connect() as connection:
            connection.execute(sa.delete(TABLE).where(TABLE.c.key == key))
