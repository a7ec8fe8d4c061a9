"""The shared fixtures of the test suite, as a pytest plugin (``tests/conftest.py`` loads it).

The database is built once per session with ``flask db upgrade`` (never ``create_all``), on SQLite by
default or on the PostgreSQL named by ``DATABASE_URL`` (scripts/test starts one). Every test that uses
the ``db`` fixture is marked ``db`` automatically, so ``pytest -m db`` is exactly the set that runs
again on PostgreSQL. Tables are emptied after each such test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import weakref
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from app import create_app
from app.demo.answers import fill
from app.extensions import db as _db
from app.extensions import limiter
from app.jobs.worker import run_due
from app.submissions import service as submissions
from app.submissions.models import Submission
from app.workflow import service as workflow
from tests.support.accounts import make_resident
from tests.support.catalogue import sync_built_in
from tests.support.mail import SmtpServer
from tests.support.staff import make_staff
from tests.support.tsa import start_tsa

DATABASE_URL = os.environ.get("DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@contextlib.contextmanager
def ledger_maintenance(engine):
    """A transaction in which the ledger's append-only triggers (migration 0009) let rows be changed or
    deleted, as only an owner of the database can: the tests empty their tables, and the tamper tests
    play someone with write access. On PostgreSQL ``session_replication_role = replica`` (superuser
    only; the app's database role is not one); on SQLite the connection's maintenance function says 1,
    and says 0 again afterwards."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            yield connection
            return
        raw = connection.connection.driver_connection
        raw.create_function("madoguchi_audit_maintenance", 0, lambda: 1)
        try:
            yield connection
        finally:
            raw.create_function("madoguchi_audit_maintenance", 0, lambda: 0)


def app_config(instance_path: Path, database_url: str) -> dict:
    return {
        "INSTANCE_PATH": str(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "MADOGUCHI_ENV": "development",
        # One test process plays every role: the web, the worker and the operator's command line.
        "MADOGUCHI_PROCESS": "cli",
        # scrypt at full cost takes half a second per seal key; tests keep the format, not the cost.
        "SEAL_KEY_SCRYPT_N": 2**10,
        "SECRET_KEY": "test-secret-key",
        "MADOGUCHI_KEY_PASSPHRASE": "test-passphrase",
        "MADOGUCHI_FIELD_KEY": "dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy4uLi4=",
        "MADOGUCHI_BASE_URL": "http://madoguchi.test",
        # Argon2 at full cost makes each sign-in ~100 ms; tests keep the algorithm, not the cost.
        "PASSWORD_HASH_FAST": True,
        "RATELIMIT_ENABLED": True,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if DATABASE_URL:
        engine = sa.create_engine(DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        return DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class FreshContextClient(FlaskClient):
    """Each request in its own application context, as in production.

    The ``db`` fixture keeps an app context pushed for the whole test, and Flask reuses an active app
    context for requests: ``g`` (the cached CSRF token, the locale, ``g.resident``) and the database
    session would then carry over from one request, and one client, to the next.

    The test's own session is committed at each request boundary: its pending rows reach the
    request, and its next query starts a new transaction that sees what the request wrote (a
    long-lived SQLite read transaction would keep an old snapshot).
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory, database_url):
    from flask_migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    application = create_app(app_config(instance, database_url))
    application.test_client_class = FreshContextClient
    _SESSION_LIMITER_STORAGE[:] = [limiter._storage, limiter._limiter]  # noqa: SLF001 (see _limiter_storage_kept)
    _SESSION_APPS.add(application)
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


#: The session app's rate-limit storage, set when that app is created.
_SESSION_LIMITER_STORAGE: list = []
#: Apps whose database engines live for the whole session.
_SESSION_APPS: weakref.WeakSet = weakref.WeakSet()


@pytest.fixture(autouse=True)
def _other_apps_engines_disposed():
    """A test's own ``create_app`` (another configuration, a throw-away database) opens an engine of its
    own. Close its connections when the test ends: left to the garbage collector, PostgreSQL connections
    warn (ResourceWarning) in whatever later test happens to be running, and fail it."""
    yield
    for other in list(_db._app_engines.keys()):  # noqa: SLF001 (Flask-SQLAlchemy's engines per app)
        if other not in _SESSION_APPS:
            for engine in _db._app_engines[other].values():  # noqa: SLF001
                engine.dispose()


@pytest.fixture(autouse=True)
def _limiter_storage_kept():
    """Flask-Limiter keeps one storage per extension, not per app: every ``create_app`` (a test's own
    app under a production configuration, the migration tests' throw-away database, a module's
    deployment of several nodes) points the shared ``limiter`` at that app's counters. Put back the
    session app's storage after such a test and close the other's connections, or later tests count in
    (or fail to reach) a dropped database. The session app's, not the one found at the test's start: a
    module-scoped fixture has replaced it before the test begins.
    """
    yield
    if not _SESSION_LIMITER_STORAGE or limiter._storage is _SESSION_LIMITER_STORAGE[0]:  # noqa: SLF001
        return
    kept = tuple(_SESSION_LIMITER_STORAGE)
    replaced = limiter._storage
    limiter._storage, limiter._limiter = kept
    engine = getattr(replaced, "_engine", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def db(app):
    """The database session inside an app context; every table is emptied afterwards."""
    limiter.reset()
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        tables = [t for t in reversed(_db.metadata.sorted_tables)]
        with ledger_maintenance(_db.engine) as connection:
            for table in tables:
                connection.execute(table.delete())
    mail_dir = Path(app.config["INSTANCE_PATH"]) / "mail"
    if mail_dir.exists():
        for path in mail_dir.glob("*.eml"):
            path.unlink()


@pytest.fixture
def catalogue(db):
    """The built-in offices, destinations and forms, synced as ``flask catalogue sync`` does."""
    sync_built_in(db)


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def local_tsa():
    """A local RFC 3161 timestamp authority for the whole run: seals in tests are always PAdES B-T."""
    server = start_tsa()
    yield server
    server.stop()


@pytest.fixture
def pki(app, db, catalogue, local_tsa, tmp_path):
    """The seal PKI (`flask seals init`), with the local timestamp authority configured and trusted."""
    from app.seals import pki as pki_core
    from app.seals import service

    root_file = tmp_path / "tsa-root.pem"
    root_file.write_bytes(pki_core.cert_pem(local_tsa.root))
    saved = {key: app.config[key] for key in ("MADOGUCHI_TSA_URL", "MADOGUCHI_TSA_ROOT")}
    app.config.update(MADOGUCHI_TSA_URL=local_tsa.url, MADOGUCHI_TSA_ROOT=str(root_file))
    service.init_pki()
    db.session.commit()
    yield
    app.config.update(saved)


SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory):
    """A SoftHSM2 token for the whole run (the PKCS#11 library reads its configuration once per process)."""
    module = next((m for m in SOFTHSM_MODULES if os.path.exists(m)), None)
    if module is None or shutil.which("softhsm2-util") is None:
        if os.geteuid() == 0:
            pytest.fail("softhsm2 is not installed: run scripts/setup (Debian package softhsm2)")
        pytest.skip("softhsm2 is not installed (Debian package softhsm2; scripts/setup installs it as root)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read when the module initialises: before the first PKCS#11 call
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "madoguchi-test", "--so-pin", "1234", "--pin", "5678"],
        check=True, capture_output=True,
    )
    yield module
    from app.seals import sign

    sign.close_pkcs11_sessions()
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


# ---- cases and staff for the workflow, seal and delivery tests ------------------------------------------


@pytest.fixture
def staff(db, catalogue):
    """The 市民課 team of the 住民票 route (受付 clerk → 決裁 approver) and outsiders."""
    return {
        "clerk": make_staff(db, "suzuki@city.example.jp", "shimin", ["clerk"])[0],
        "clerk2": make_staff(db, "tanaka@city.example.jp", "shimin", ["clerk"])[0],
        "approver": make_staff(db, "kacho@city.example.jp", "shimin", ["approver"])[0],
        "both": make_staff(db, "sato@city.example.jp", "shimin", ["clerk", "approver"])[0],
        "zeimu": make_staff(db, "zei@city.example.jp", "zeimu", ["approver"])[0],
        "fukushi": make_staff(db, "fuku@city.example.jp", "fukushi", ["approver"])[0],
        "kodomo": make_staff(db, "kodomo@city.example.jp", "kodomo", ["clerk", "approver"])[0],
    }


@pytest.fixture
def applicant(db, catalogue):
    return make_resident(db, "hanako@example.jp")


@pytest.fixture
def new_case(db, applicant, pki, run_worker):
    """new_case(slug, state=..., consents=...) → a submission brought to ``state`` through the real services.

    "in_review": submitted, then the worker rendered its document and put it on the route. ``consents``:
    the resident's answers for the form's external destinations (none ticked by default).
    """

    def build(slug: str = "juminhyo", state: str = "in_review", consents: dict | None = None):
        submission = fill(applicant, slug)
        if state == "draft":
            db.session.commit()
            return submission
        submissions.submit(submission, consents)
        db.session.commit()
        if state != "submitted":
            run_worker()
            db.session.refresh(submission)
        return submission

    return build


@pytest.fixture
def approve(db, run_worker):
    """approve(submission_id, staff): the click, then the worker seals the step (and what follows)."""

    def decide(submission_id: int, staff):
        approval = workflow.approve(submission_id, staff)
        db.session.commit()
        run_worker()
        return approval

    return decide


@pytest.fixture
def approve_case(db, new_case, staff, approve):
    """approve_case(slug, consents=...) → a case approved by its clerk and approver and sealed, through the
    real services."""

    def build(slug: str = "juminhyo", consents: dict | None = None) -> Submission:
        submission = new_case(slug, "in_review", consents)
        for member in ("clerk", "approver"):
            approve(submission.id, staff[member])
        db.session.expire_all()
        submission = db.session.get(Submission, submission.id)
        assert submission.state == "approved"
        return submission

    return build


# ---- mail and the worker ---------------------------------------------------------------------------------


@pytest.fixture
def smtp_server(app):
    """An SMTP server on 127.0.0.1 that the app sends to (``SMTP_URL``) for the duration of one test;
    yields its recording handler."""
    server = SmtpServer()
    previous = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = server.url
    try:
        yield server.handler
    finally:
        app.config["SMTP_URL"] = previous
        server.stop()


@pytest.fixture
def run_worker(app):
    """A function that runs every due job once, as ``flask worker --once`` would; returns how many ran."""

    def run() -> int:
        if has_app_context():
            # End the test's own transaction (as the test client does at each request): its rows reach
            # the worker, and its next query sees what the worker wrote.
            _db.session.commit()
        with app.app_context():
            return run_due()

    return run
