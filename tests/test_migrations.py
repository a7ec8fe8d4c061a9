"""Migrations: named NNNN_slug.py with revision NNNN in one line; head matches the models; every
revision downgrades to base and upgrades again.

The database tests run on a fresh database of their own (a new SQLite file, or a new database on the
PostgreSQL server of ``DATABASE_URL``), never on the shared test database.
"""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app import PROJECT_ROOT, create_app
from app.extensions import db
from tests.support.plugin import app_config

VERSIONS = PROJECT_ROOT / "migrations" / "versions"
NAME_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.py$")


def _module_constants(path: Path) -> dict:
    """``revision`` and ``down_revision`` as written in the file, without importing it."""
    values = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("revision", "down_revision"):
                values[name] = ast.literal_eval(node.value)
    return values


def _revision_files() -> list[Path]:
    return sorted(p for p in VERSIONS.iterdir() if p.is_file())


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


def test_revision_files_are_numbered_and_linear():
    files = _revision_files()
    assert files, "migrations/versions holds no revision"
    previous = None
    for index, path in enumerate(files, start=1):
        match = NAME_RE.match(path.name)
        assert match, f"{path.name}: name it NNNN_slug.py (four digits, lowercase slug)"
        number = match.group(1)
        assert number == f"{index:04d}", f"{path.name}: expected number {index:04d} (no gaps, no duplicates)"
        constants = _module_constants(path)
        assert constants.get("revision") == number, f"{path.name}: revision must be {number!r}"
        assert constants.get("down_revision") == previous, f"{path.name}: down_revision must be {previous!r}"
        previous = number


def test_alembic_sees_one_linear_history():
    script = _script()
    heads = script.get_heads()
    assert len(heads) == 1, f"more than one head: {heads}"
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")]
    assert chain == sorted(chain, reverse=True)
    assert len(chain) == len(_revision_files())


@pytest.fixture
def fresh_database_url(database_url, tmp_path):
    """A new, empty database on the same kind of server as the session's test database."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"madoguchi_migrations_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def migration_app(fresh_database_url, tmp_path):
    app = create_app(app_config(tmp_path / "instance", fresh_database_url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _tables() -> set[str]:
    with db.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}


def _current() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.mark.db
def test_head_matches_the_models(migration_app):
    upgrade(revision="head")
    assert _differences() == [], "the models and the migrations differ: write a migration (flask db migrate)"
    assert _tables() == set(db.metadata.tables)


@pytest.mark.db
def test_every_revision_downgrades_and_upgrades_again(migration_app):
    script = _script()
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]

    for revision in revisions:  # one step at a time, as a deployment meets them
        upgrade(revision=revision)
        assert _current() == revision
    for revision in reversed(revisions):
        down_to = script.get_revision(revision).down_revision or "base"
        downgrade(revision=down_to)
        assert _current() == (None if down_to == "base" else down_to)
    assert _tables() == set(), "downgrade to base left tables behind"

    upgrade(revision="head")
    assert _current() == revisions[-1]
    assert _differences() == []


@pytest.mark.db
def test_h4_the_migration_re_encrypts_stored_seal_keys_with_scrypt(migration_app):
    """Keys stored by the earlier version (PBKDF2, 2,048 iterations) come out scrypt, the same keys."""
    from cryptography.hazmat.primitives import serialization

    from app.seals import pki

    upgrade(revision="0009")
    passphrase = migration_app.config["MADOGUCHI_KEY_PASSPHRASE"]
    key = pki.new_key()
    old_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(passphrase.encode()))
    certificates = sa.table("seal_certificates", *(sa.column(name) for name in (
        "kind", "serial", "fingerprint", "subject", "cert_pem", "key_pem_enc", "not_before", "not_after", "is_current",
        "created_at")))
    now = sa.func.current_timestamp()
    with db.engine.begin() as connection:
        connection.execute(sa.insert(certificates).values(
            kind="org", serial="1", fingerprint="f" * 64, subject="CN=x", cert_pem="-", key_pem_enc=old_pem,
            not_before=now, not_after=now, is_current=True, created_at=now))
    assert pki.key_protection(old_pem) == ("pbkdf2", 2048)

    def stored() -> bytes:
        with db.engine.connect() as connection:
            return bytes(connection.execute(sa.select(certificates.c.key_pem_enc)).scalar_one())

    upgrade(revision="0010")
    assert pki.key_protection(stored())[0] == "scrypt"
    assert pki.decrypt_key(stored(), passphrase).private_numbers() == key.private_numbers()
    downgrade(revision="0009")
    assert pki.key_protection(stored()) == ("pbkdf2", 2048)
    assert pki.decrypt_key(stored(), passphrase).private_numbers() == key.private_numbers()


@pytest.mark.db
def test_l13_the_database_refuses_to_change_or_delete_ledger_rows(migration_app):
    """Not only the ORM: a plain SQL UPDATE or DELETE on audit_events fails, on SQLite and PostgreSQL."""
    from app.audit.models import AuditEvent
    from app.audit.service import record
    from app.db import intending_to_write

    upgrade(revision="head")
    with intending_to_write():
        record("case.view", actor_type="staff", actor_id=1, subject_type="submission", subject_id=1)
        db.session.commit()
    events = AuditEvent.__table__
    for statement in (events.update().values(action="case.claim"), events.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(statement)
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE audit_events"))
    with db.engine.connect() as connection:
        assert connection.execute(sa.select(events.c.action)).scalars().all() == ["case.view"]
