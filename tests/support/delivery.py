"""Deliveries in tests: a webhook receiver on loopback, and helpers to read what was written and what arrived."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from app.delivery import outbox
from app.delivery.models import Delivery, Destination
from app.documents import service as documents
from app.workflow.sealing import delivery_order
from tests.support.http import free_port

GATEWAY = "{number}@fax.example.lg.jp"


class WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1 that records every POST, checks its HMAC, and answers ``status``."""

    def __init__(self, secret: str):
        self.secret = secret
        self.received: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                receiver.received.append({
                    "body": json.loads(body), "raw": body, "headers": dict(self.headers),
                    "signature_ok": hmac.compare_digest(expected, self.headers.get("X-Madoguchi-Signature", "")),
                })
                self.send_response(receiver.status)
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
