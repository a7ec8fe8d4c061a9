"""Madoguchi (窓口): digital government forms for Japanese municipalities.

``create_app`` wires the house together: configuration, extensions, the blueprints of each domain, the
request's unit of work and error handlers, the worker's job handlers, the signals between domains,
and the CLI. The map of the packages is in README.md ("Where things are").
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask, g, request
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from app import rate_limits, security_log, sqlite_writers  # noqa: F401 (rate_limits: registers database://)
from app.config import load_config
from app.db import write_intent
from app.extensions import babel, csrf, db, limiter, migrate
from app.i18n import select_locale

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: How long a SQLite writer waits for the write lock before "database is locked".
BUSY_TIMEOUT_MS = 10000


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(settings)
    proxies = app.config["MADOGUCHI_TRUSTED_PROXIES"]
    if proxies:
        # Only as many X-Forwarded-* hops as there are proxies of ours: a client cannot choose its own
        # address (rate limits, security events) by sending the header itself.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    from app.http import register_upload_limits

    register_upload_limits(app)  # before CSRFProtect, whose check reads the body
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    _configure_sqlite(app)

    # The domains are imported when an app is made, not when the package is: ``import app.jp`` (or
    # ``from app import PROJECT_ROOT``) must not load every domain, and a domain importing ``app.x``
    # must not wait for the factory's module to finish.
    from app import http, models  # noqa: F401  (models: registers every table on the metadata)

    # The unit of work first: after_request functions run in reverse order, so the commit runs last.
    http.register_unit_of_work(app)
    http.register_security_headers(app)
    http.register_error_handlers(app)
    security_log.register(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_background_work()

    from app.cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from app.accounts.staff_admin import bp as staff_admin_bp
    from app.accounts.staff_views import bp as staff_auth_bp
    from app.accounts.views import bp as accounts_bp
    from app.api.verify_pages import bp as verify_bp
    from app.api.views import bp as api_bp
    from app.api.views import verify_api_bp
    from app.delivery.admin import bp as destinations_admin_bp
    from app.delivery.dashboard import bp as deliveries_bp
    from app.health import bp as health_bp
    from app.submissions.about import bp as about_bp
    from app.submissions.portal import bp as web_bp
    from app.submissions.views import bp as submissions_bp
    from app.workflow.views import bp as office_bp

    for blueprint in (web_bp, about_bp, health_bp, accounts_bp, staff_auth_bp, staff_admin_bp, submissions_bp, api_bp,
                      verify_api_bp, office_bp, verify_bp, destinations_admin_bp, deliveries_bp):
        app.register_blueprint(blueprint)
    if app.config["MADOGUCHI_ENV"] == "development":
        from app import devtools

        devtools.register(app)


def _register_template_helpers(app: Flask) -> None:
    from app.accounts.roles import role_description, role_labels
    from app.accounts.session import idle_seconds_left
    from app.api.verify_words import problem_words
    from app.i18n import jst_text, localized
    from app.submissions.labels import action_label, history_sentence, state_label

    def localized_text(text: dict | None) -> str:
        return localized(text, str(get_locale()))

    # Globals rather than a context processor: imported macros see globals but not the render context.
    app.jinja_env.globals.update(localized=localized_text, state_label=state_label, action_label=action_label,
                                 history_sentence=history_sentence,
                                 role_labels=role_labels, role_description=role_description,
                                 idle_seconds_left=idle_seconds_left, problem_words=problem_words, jst_text=jst_text)

    @app.context_processor
    def inject():
        return {"current_locale": str(get_locale())}


def _register_background_work() -> None:
    """The worker's handlers and work sources, and the signals between domains (idempotent)."""
    from app.api import lookups
    from app.delivery import outbox
    from app.documents import jobs as document_jobs
    from app.seals import jobs as seal_jobs
    from app.workflow import jobs as workflow_jobs
    from app.workflow import signals

    workflow_jobs.register()
    seal_jobs.register()
    document_jobs.register()
    outbox.register()
    lookups.register()
    signals.connect()


def _no_ledger_maintenance() -> int:
    return 0


def _configure_sqlite(app: Flask) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writing requests so concurrent writers queue
    instead of failing mid-transaction (see app.db.write_intent)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine
    # Registered first: writers queue for the lock before the BEGIN IMMEDIATE below is sent.
    sqlite_writers.install(engine, timeout_seconds=BUSY_TIMEOUT_MS / 1000)

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # The driver's own transaction handling would issue a deferred BEGIN; we issue our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # The ledger's triggers (migration 0009) let a row be changed only on a connection where this
        # says 1; the app's always say 0.
        dbapi_connection.create_function("madoguchi_audit_maintenance", 0, _no_ledger_maintenance,
                                         deterministic=True)

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    @app.before_request
    def declare_write_intent():
        view = app.view_functions.get(request.endpoint)
        if request.method not in ("GET", "HEAD", "OPTIONS") or getattr(view, "writes", False):
            g.write_intent_token = write_intent.set(True)

    @app.teardown_request
    def end_write_intent(_exc):
        token = g.pop("write_intent_token", None)
        if token is not None:
            write_intent.reset(token)
