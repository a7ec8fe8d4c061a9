"""A real SMTP server on loopback (aiosmtpd) for the tests that read what the service sent."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from flask import has_app_context

from app.extensions import db
from tests.helpers import free_port


class RecordingHandler:
    """Keeps every message the server accepts, parsed as the recipient's mail program would."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        """Block until at least ``count`` messages have arrived; fail the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"expected {count} message(s) within {timeout}s, got {len(self.messages)}")
                self._arrived.wait(left)
            return list(self.messages)


@pytest.fixture
def smtp_server(app):
    """An SMTP server on 127.0.0.1 that the app sends to (``SMTP_URL``) for the duration of one test."""
    handler = RecordingHandler()
    # Controller(port=0) cannot report the port it got, so a free one is chosen beforehand.
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    previous = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield handler
    finally:
        app.config["SMTP_URL"] = previous
        controller.stop()


@pytest.fixture
def run_worker(app):
    """A function that runs every due job once, as ``flask worker --once`` would; returns how many ran."""
    from app.delivery.worker import run_due

    def run() -> int:
        if has_app_context():
            # End the test's own transaction (as the test client does at each request): its rows reach
            # the worker, and its next query sees what the worker wrote.
            db.session.commit()
        with app.app_context():
            return run_due()

    return run
