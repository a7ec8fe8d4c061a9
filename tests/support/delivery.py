"""Deliveries in tests: a webhook receiver on loopback, and helpers to read what was written and what arrived."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from app.delivery import outbox
from app.delivery.models import Delivery, Destination
from app.documents import service as documents
from app.workflow.sealing import delivery_order
from tests.support.http import free_port

GATEWAY = "{number}@fax.example.lg.jp"


def standard_webhook_signature_ok(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """A receiver's check, written from the Standard Webhooks specification (not the app's code):
    HMAC-SHA256 over ``id.timestamp.body`` with the secret (``whsec_`` + base64, or plain bytes),
    base64 after ``v1,``; the timestamp within ``tolerance`` seconds of now."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    message_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    return any(hmac.compare_digest(expected, given) for given in headers.get("webhook-signature", "").split())


class WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1 that records every POST and GET, checks the Standard Webhooks
    signature, and answers ``status`` (with ``location`` as the Location header, for redirects)."""

    def __init__(self, secret: str):
        self.secret = secret
        self.received: list[dict] = []
        self.gets: list[dict] = []
        self.status = 200
        self.location: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({
                    # Header names are case-insensitive (urllib sends "Webhook-id"): kept lower-cased.
                    "body": json.loads(body), "raw": body, "headers": {k.lower(): v for k, v in self.headers.items()},
                    "signature_ok": standard_webhook_signature_ok(receiver.secret, self.headers, body),
                })
                self._answer()

            def do_GET(self):
                receiver.gets.append({"path": self.path, "headers": dict(self.headers)})
                self._answer()

            def _answer(self):
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/inbox"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def deliveries(db, submission=None) -> list[Delivery]:
    db.session.expire_all()
    statement = sa.select(Delivery).order_by(Delivery.id)
    if submission is not None:
        statement = statement.where(Delivery.submission_id == submission.id)
    return list(db.session.scalars(statement))


def by_code(db, submission, code: str) -> Delivery:
    return next(d for d in deliveries(db, submission) if d.destination.code == code)


def point_webhook(db, url: str, code: str = "suido") -> None:
    db.session.scalar(sa.select(Destination).where(Destination.code == code)).webhook_url = url
    db.session.commit()


def attachment(message, content_type: str) -> bytes:
    parts = [part for part in message.iter_attachments() if part.get_content_type() == content_type]
    assert len(parts) == 1, [p.get_content_type() for p in message.iter_attachments()]
    return parts[0].get_content()


def queue_to(db, submission, destination: Destination) -> Delivery:
    """One more delivery of an approved case's sealed document, to ``destination`` (added by the test)."""
    db.session.flush()
    order = delivery_order(submission, documents.current_document(submission.id))
    (delivery,) = outbox.write_deliveries(dataclasses.replace(order, destination_codes=[destination.code]))
    return delivery
