"""Madoguchi (窓口): digital government forms for Japanese municipalities."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request, session

from app.config import load_config
from app.extensions import babel, csrf, db, limiter, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("ja", "en")
#: How long a SQLite writer waits for the write lock before "database is locked".
BUSY_TIMEOUT_MS = 10000


def select_locale() -> str:
    if not has_request_context():  # the worker and the CLI: mail picks its locale with force_locale
        return "ja"
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return "ja"


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(settings)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    _configure_sqlite(app)

    from app import models  # noqa: F401  (registers every table on the metadata)
    from app.accounts.staff_views import bp as staff_auth_bp
    from app.accounts.views import bp as accounts_bp
    from app.api.views import bp as api_bp
    from app.delivery.dashboard import bp as deliveries_bp
    from app.delivery.destinations import bp as destinations_admin_bp
    from app.delivery.views import bp as dev_mail_bp
    from app.delivery.views import webhook_bp as dev_webhook_bp
    from app.errors import register_error_handlers
    from app.health import bp as health_bp
    from app.seals.views import api_bp as verify_api_bp
    from app.seals.views import bp as verify_bp
    from app.submissions.views import bp as submissions_bp
    from app.web import bp as web_bp
    from app.web import register_template_helpers
    from app.workflow.views import bp as office_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(staff_auth_bp)
    app.register_blueprint(submissions_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(office_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(verify_api_bp)
    app.register_blueprint(destinations_admin_bp)
    app.register_blueprint(deliveries_bp)
    if app.config["MADOGUCHI_ENV"] == "development":
        app.register_blueprint(dev_mail_bp)
        app.register_blueprint(dev_webhook_bp)
        csrf.exempt(dev_webhook_bp)
    register_error_handlers(app)
    register_template_helpers(app)

    from app.cli import register_cli
    from app.seals.jobs import register as register_seal_jobs
    from app.workflow.jobs import register as register_workflow_jobs

    register_cli(app)
    register_workflow_jobs()
    register_seal_jobs()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        if request.path.startswith(("/drafts", "/submissions", "/account", "/office")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _configure_sqlite(app: Flask) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writing requests so concurrent writers queue
    instead of failing mid-transaction (see app.db.write_intent)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import sqlalchemy as sa

    from app import sqlite_writers
    from app.db import write_intent

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

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    @app.before_request
    def declare_write_intent():
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            g.write_intent_token = write_intent.set(True)

    @app.teardown_request
    def end_write_intent(_exc):
        token = g.pop("write_intent_token", None)
        if token is not None:
            write_intent.reset(token)
