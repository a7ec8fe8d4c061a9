"""Delivery fixtures: an approved 住民票 case with its deliveries, a webhook receiver on loopback, and
helpers to read what arrived."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from app.delivery import outbox
from app.delivery.models import Delivery, Destination
from app.documents import service as documents
from app.submissions.models import Submission
from tests.helpers import free_port

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


@pytest.fixture
def webhook(app, db):
    receiver = WebhookReceiver(app.config["MADOGUCHI_WEBHOOK_SECRET"])
    yield receiver
    receiver.stop()


@pytest.fixture
def fast_backoff(monkeypatch):
    """Retries are due at once, so a test can exhaust the attempts in a few worker runs."""
    import datetime as dt

    monkeypatch.setattr(outbox, "backoff", lambda attempts: dt.timedelta(0))


@pytest.fixture
def approved(app, db, new_case, staff, approve, monkeypatch):
    """A 住民票 (v3: to 法務局 by fax, a care office by e-mail, 上下水道課 by webhook) approved and sealed,
    with its deliveries written but not yet sent. The fax gateway is configured (fax_email)."""
    monkeypatch.setitem(app.config, "MADOGUCHI_FAX_GATEWAY", GATEWAY)
    with monkeypatch.context() as during_approval:
        # If apply_org_seal already writes the deliveries, they wait: each test sends them itself.
        during_approval.setattr(outbox, "deliver_due", lambda *args, **kwargs: 0)
        submission = new_case("juminhyo", "in_review")
        for member in ("clerk", "approver"):
            approve(submission.id, staff[member])
    db.session.expire_all()
    submission = db.session.get(Submission, submission.id)
    assert submission.state == "approved"
    outbox.write_deliveries(submission, documents.current_document(submission))  # idempotent
    db.session.commit()
    return submission


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
