"""The security event log (ASVS 16.3): failed passwords and codes, lock-outs, refused objects, CSRF
failures, residents' sign-in, sign-out and reset. Apart from the audit ledger, which records what was
done; this records what was tried, and must survive the refusal it records.

Each event is one row of ``security_events`` and one JSON line on the ``madoguchi.security`` logger,
with the actor, the client address and the outcome, never a secret: no password, code, token or
address (an address typed at sign-in is kept only as a keyed hash, to group attempts on one account).

Rows are written on a connection of their own in their own transaction, never the request's: a refused
request rolls its transaction back, and its event must stay. Within a request the rows are written
when the request's transaction has ended (``register``), because SQLite has one writer and a POST
request holds it until then; outside a request they are written at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, intending_to_write, utcnow
from app.extensions import db

log = logging.getLogger("madoguchi.security")

OUTCOMES = ("failure", "success", "denied", "locked")


class SecurityEvent(Base):
    __tablename__ = "security_events"
    __table_args__ = (sa.Index("ix_security_events_event_created_at", "event", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: e.g. 'resident.sign_in', 'staff.totp', 'staff.step_up', 'csrf', 'access', 'rate_limit'
    event: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(10))
    #: 'resident', 'staff' or 'anonymous'
    actor_type: Mapped[str] = mapped_column(sa.String(10))
    actor_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    method: Mapped[str | None] = mapped_column(sa.String(8))
    path: Mapped[str | None] = mapped_column(sa.String(200))
    #: Ids, names of things and keyed hashes only.
    detail: Mapped[dict | None] = mapped_column(sa.JSON)


def hashed(value: str) -> str:
    """A keyed hash of personal data (a typed address): equal inputs match, the input cannot be read back."""
    key = (current_app.config.get("SECRET_KEY") or "madoguchi").encode()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()[:24]


def _actor() -> tuple[str, int | None]:
    staff = g.get("staff")
    if staff is not None:
        return "staff", staff.id
    resident = g.get("resident")
    if resident is not None:
        return "resident", resident.id
    return "anonymous", None


def record(event: str, outcome: str, *, actor_type: str | None = None, actor_id: int | None = None,
           **detail) -> None:
    """Log a security event: one JSON line now, one row on its own connection (see the module docstring)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    if actor_type is None:
        actor_type, found_id = _actor() if has_request_context() else ("anonymous", None)
        actor_id = actor_id if actor_id is not None else found_id
    row = {
        "created_at": utcnow(), "event": event, "outcome": outcome, "actor_type": actor_type, "actor_id": actor_id,
        "ip": None, "method": None, "path": None, "detail": {k: v for k, v in detail.items() if v is not None} or None,
    }
    if has_request_context():
        row.update(ip=(request.remote_addr or "")[:45] or None, method=request.method, path=request.path[:200])
    line = json.dumps({**row, "created_at": row["created_at"].isoformat()}, ensure_ascii=False, default=str,
                      sort_keys=True)
    log.log(logging.INFO if outcome == "success" else logging.WARNING, line)
    if has_request_context():
        g.setdefault("security_events", []).append(row)
    else:
        _write([row])


def _write(rows: list[dict]) -> None:
    try:
        with intending_to_write(), db.engine.begin() as connection:
            connection.execute(sa.insert(SecurityEvent), rows)
    except sa.exc.SQLAlchemyError:  # the log line above stands; a lost row must not fail the request
        log.exception("security events could not be stored")


def register(app: Flask) -> None:
    @app.teardown_request
    def store_security_events(_exc):
        rows = g.pop("security_events", None)
        if rows:
            _write(rows)
