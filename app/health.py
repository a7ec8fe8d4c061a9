"""GET /healthz: database reachability and the migration head, as JSON.

Healthy (200) when the database is at this code's head, or ahead of it: during a rolling upgrade the
migrations of the new release run first (they only add, docs/deploy.md), and the nodes still on the old
code keep serving until each is replaced. A database behind the code (code deployed before its
migrations ran) or unreachable is 503: a load balancer takes the node out.

Anyone gets the verdict (``status``, 200 or 503: what a load balancer needs); the details (the
database's kind, the migration revisions) only a client on this machine: they help an attacker pick
exploits and tell nobody else anything they need (review L8).
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Blueprint, current_app, jsonify, request

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    migrate_ext = current_app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate_ext.migrate.get_config())
    head = script.get_current_head()
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
        database = "ok"
    except sa.exc.SQLAlchemyError as exc:
        current, database = None, f"error: {type(exc).__name__}"
    state = _migration_state(script, current, head)
    healthy = database == "ok" and state in ("current", "ahead")
    body = {"status": "ok" if healthy else "degraded"}
    if _local_client():
        body.update(database=database, dialect=db.engine.dialect.name,
                    migration={"current": current, "head": head, "state": state})
    return jsonify(body), 200 if healthy else 503


def _local_client() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _migration_state(script: ScriptDirectory, current: str | None, head: str | None) -> str:
    """'current', 'ahead' (a revision this code does not know: a newer release migrated), or 'behind'."""
    if current == head:
        return "current"
    if current is None:
        return "behind"
    try:
        script.get_revision(current)
    except CommandError:  # no such revision here
        return "ahead"
    return "behind"
