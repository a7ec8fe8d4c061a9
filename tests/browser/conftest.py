"""Real-browser fixtures: the app served over HTTP on loopback, and a Playwright page in Chromium.

Browser tests are marked ``browser`` (never ``db``): they run once, on their own SQLite file, whatever
``DATABASE_URL`` says. Chromium is Debian's (``/usr/bin/chromium``, installed by scripts/setup); never
``playwright install``. Without it the tests are skipped for a developer who is not root, and fail for
root, since there setup installs it and its absence is a broken machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.support.http import free_port
from tests.support.plugin import app_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


class LiveServer:
    """The app on ``url`` (no trailing slash), served from a background thread."""

    def __init__(self, app, url: str):
        self.app = app
        self.url = url

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def buffered(app):
    """The app with each response read whole before it is sent.

    Werkzeug's development server leaves a static file open when the browser drops the connection
    mid-response (a page left while its stylesheet loads): it closes the response only after a complete
    send. The open file is then reported (ResourceWarning) at a random later moment, failing whichever
    test runs. Reading the response whole first closes the file every time; gunicorn, which serves the
    app in production, closes it itself.
    """

    def serve(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return serve


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    from flask_migrate import upgrade

    from app.extensions import db

    instance = tmp_path_factory.mktemp("live-instance")
    database_url = f"sqlite:///{instance / 'live.db'}"
    port = free_port()
    config = app_config(instance, database_url)
    config["MADOGUCHI_BASE_URL"] = f"http://127.0.0.1:{port}"
    app = create_app(config)
    with app.app_context():
        upgrade()
    server = make_server("127.0.0.1", port, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


# Package scope, not session: Playwright's sync API keeps an event loop running in the main thread
# while it is open, and the seal tests that run after the browser tests call asyncio.run().
@pytest.fixture(scope="package")
def chromium():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (Debian package chromium; scripts/setup installs it as root)"
        if os.geteuid() == 0:
            pytest.fail(reason + ": as root it must be there")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh context (no cookies, no storage) and page per test, in Japanese."""
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def catalogue(live_server) -> LiveServer:
    """The live server with the built-in catalogue published in its database."""
    from app.catalogue.service import built_in_catalogue_dir, sync_catalogue
    from app.cli import catalogue_references
    from app.extensions import db

    with live_server.app.app_context():
        sync_catalogue([built_in_catalogue_dir()], catalogue_references())
        db.session.commit()
    return live_server


@pytest.fixture
def new_resident(catalogue):
    """Make a confirmed resident (password ``support.PASSWORD``) in the live database; returns the email."""
    import uuid

    from tests.support.browser import make_resident

    def make(name: str = "hanako") -> str:
        return make_resident(catalogue.app, f"{name}-{uuid.uuid4().hex[:8]}@example.jp")

    return make


@pytest.fixture
def new_page(chromium):
    """Open pages in fresh contexts: ``new_page(viewport=..., java_script_enabled=...)``; all closed after the test."""
    contexts = []

    def make(**options):
        context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Each browser test signs in afresh; the limiter's memory is shared by every app in the process."""
    from app.extensions import limiter

    limiter.reset()
