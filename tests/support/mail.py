"""A real SMTP server on loopback (aiosmtpd) for the tests that read what the service sent."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.http import free_port


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


class SmtpServer:
    """aiosmtpd on 127.0.0.1, on a port chosen beforehand (Controller(port=0) cannot report the one it got)."""

    def __init__(self):
        self.handler = RecordingHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.controller.port}"

    def stop(self) -> None:
        self.controller.stop()
