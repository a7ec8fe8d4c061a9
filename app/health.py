"""GET /healthz: database reachability and the migration head, as JSON.

Anyone gets the verdict (``status``, 200 or 503: what a load balancer needs); the details (the
database's kind, the migration revisions) only a client on this machine: they help an attacker pick
exploits and tell nobody else anything they need (review L8).
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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
    healthy = database == "ok" and current == head
    body = {"status": "ok" if healthy else "degraded"}
    if _local_client():
        body.update(database=database, dialect=db.engine.dialect.name, migration={"current": current, "head": head})
    return jsonify(body), 200 if healthy else 503


def _local_client() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
