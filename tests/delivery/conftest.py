"""Delivery fixtures: an approved case of the tests' delivery form with its deliveries, a webhook receiver
on loopback, and helpers to read what arrived."""

from __future__ import annotations

import pytest

from app.delivery import outbox
from app.documents import service as documents
from app.jobs import queue
from app.workflow.sealing import delivery_order
from tests.support.catalogue import DELIVERY_CONSENTS, sync_test_forms
from tests.support.delivery import GATEWAY, WebhookReceiver


@pytest.fixture
def webhook(app, db):
    receiver = WebhookReceiver(app.config["MADOGUCHI_WEBHOOK_SECRET"])
    yield receiver
    receiver.stop()


@pytest.fixture
def fast_backoff(monkeypatch):
    """Retries are due at once, so a test can exhaust the attempts in a few worker runs."""
    import datetime as dt

    monkeypatch.setattr(queue, "backoff", lambda attempts: dt.timedelta(0))


@pytest.fixture
def approved(app, db, approve_case, monkeypatch):
    """A case of the tests' delivery form (to 法務局 by fax, a care office by e-mail, 上下水道課 by webhook;
    the resident consented to both external ones) approved and sealed, with its deliveries written but
    not yet sent. The fax gateway is configured (fax_email)."""
    monkeypatch.setitem(app.config, "MADOGUCHI_FAX_GATEWAY", GATEWAY)
    sync_test_forms(db)
    with monkeypatch.context() as during_approval:
        # The organisation seal writes the deliveries; they wait: each test sends them itself.
        during_approval.setattr(outbox, "deliver_due", lambda *args, **kwargs: 0)
        submission = approve_case("delivery-test", DELIVERY_CONSENTS)
    outbox.write_deliveries(delivery_order(submission, documents.current_document(submission.id)))  # idempotent
    db.session.commit()
    return submission


