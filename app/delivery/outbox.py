"""The outbox: approved, sealed documents to external offices, each exactly once as far as a crash allows.

``write_deliveries`` adds one row per destination in the transaction that approves the case (DESIGN.md
Rule 2), so an approval and its deliveries commit together or not at all. The worker then, per row:

1. **claims** it in a short transaction with an atomic conditional UPDATE (pending → sending, a lease,
   attempts + 1); on PostgreSQL the candidates are picked with FOR UPDATE SKIP LOCKED first. SQLite
   ignores FOR UPDATE, so correctness rests on the conditional UPDATE alone (rowcount 1 wins);
2. **prepares** the message in a read-only transaction (the stored sealed bytes, a fax raster), and
   ends it;
3. **sends** outside any transaction: a slow gateway never holds a lock;
4. **records** the result in a short transaction: sent, or pending again after a backoff with jitter,
   or dead (a permanent failure, or too many attempts), shown on the delivery dashboard.

A worker that dies between 1 and 4 leaves the row in 'sending'. When its lease has passed, the next
worker moves it to **'unknown'** (it may or may not have gone out) and sends it again: every attempt
after the first carries the 再送 mark and its attempt number, and every attempt carries the same
idempotency key (and, for mail, the same Message-ID), so the receiver can recognise the duplicate.
Nothing is ever dropped silently: a row ends 'sent' or 'dead', or waits as 'unknown' for a person.

``MADOGUCHI_FAULT_INJECTION`` (TEST ONLY; refused in production by app.config) makes the worker
SIGKILL itself after the claim or after the send (app/jobs/faults.py), for the crash tests in tests/delivery.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.db import only_reading, utcnow
from app.delivery.channels import CHANNEL_MODULES, Outgoing, PermanentDeliveryFailure
from app.delivery.models import Delivery, Destination
from app.documents import service as documents
from app.extensions import db
from app.jobs import mail, queue, wakeup
from app.jobs.faults import fault_point
from app.jobs.worker import WorkSource, register_source


@dataclass(frozen=True)
class DeliveryOrder:
    """What to deliver, and what every delivery of it prints and says, as plain data."""

    submission_id: int
    document_id: int
    #: The sealed revision to send: every attempt sends exactly these bytes.
    document_sha256: str
    #: The registered destinations named by the case's form version, in order.
    destination_codes: list[str]
    receipt_number: str
    form_slug: str
    form_title: str
    verification_code: str
    #: The office that owns the form: it sends (cover sheet) and sees the deliveries on its dashboard.
    office_id: int
    office_name: str


# ---- writing (in the approving transaction) ---------------------------------------------------------


def effective_channel(destination: Destination) -> str:
    """The destination's channel, except that without an e-mail-to-fax gateway development spools faxes,
    so the demo completes offline. Production keeps 'fax_email' and the row goes dead, visibly."""
    config = current_app.config
    if destination.channel == "fax_email" and not config["MADOGUCHI_FAX_GATEWAY"] \
            and config["MADOGUCHI_ENV"] == "development":
        return "fax_spool"
    return destination.channel


def idempotency_key(submission_id: int, document_id: int, destination_code: str) -> str:
    return f"delivery:{submission_id}:{document_id}:{destination_code}"


def _new_delivery(order: DeliveryOrder, destination: Destination, key: str) -> Delivery:
    channel = effective_channel(destination)
    delivery = Delivery(
        submission_id=order.submission_id, document_id=order.document_id, destination_id=destination.id,
        channel=channel, idempotency_key=key, document_sha256=order.document_sha256,
        receipt_number=order.receipt_number, form_slug=order.form_slug, form_title=order.form_title,
        verification_code=order.verification_code, office_id=order.office_id, office_name=order.office_name,
        # Fixed now: every attempt, and every resend after a crash, carries the same Message-ID.
        message_id=mail.stable_message_id(key) if channel in ("email", "fax_email") else None,
    )
    db.session.add(delivery)
    return delivery


def write_deliveries(order: DeliveryOrder) -> list[Delivery]:
    """One delivery per destination of the order; flushes, never commits.

    Called by the organisation seal step, in its transaction, once the document is locked. A code the
    catalogue no longer knows cannot happen (sync validates it), so it raises rather than skipping; a
    deactivated destination still gets its row, which the worker marks dead with the reason, where staff
    see it — never a silent omission. Existing rows (a retried seal job) are returned, not duplicated.
    """
    codes = order.destination_codes
    if not codes:
        return []
    # Two reads for all destinations, not two per destination: this runs inside the organisation seal's
    # transaction, on the path from the last approval click to the approved case.
    found = {d.code: d for d in db.session.scalars(sa.select(Destination).where(Destination.code.in_(codes)))}
    keys = {code: idempotency_key(order.submission_id, order.document_id, code) for code in codes}
    existing = {d.idempotency_key: d for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.idempotency_key.in_(list(keys.values()))))}
    deliveries = []
    for code in codes:
        destination = found.get(code)
        if destination is None:
            raise LookupError(f"unknown destination {code!r} in {order.form_slug}")
        if keys[code] not in existing:  # a code named twice still gets one row
            existing[keys[code]] = _new_delivery(order, destination, keys[code])
        deliveries.append(existing[keys[code]])
    db.session.flush()
    wakeup.notify()  # at commit: the worker sends them now, not at its next poll
    return deliveries


# ---- claiming -----------------------------------------------------------------------------------------


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=float(current_app.config["MADOGUCHI_DELIVERY_LEASE_SECONDS"]))


def _claimable(now: dt.datetime):
    # 'unknown' rows that have used every attempt wait for a person (the dashboard's 再送する).
    return sa.or_(
        sa.and_(Delivery.state == "pending", Delivery.run_after <= now),
        sa.and_(Delivery.state == "unknown", Delivery.attempts < Delivery.max_attempts),
    )


def reap_expired_leases() -> int:
    """'sending' rows whose worker has died (lease passed) become 'unknown'; returns how many."""
    now = utcnow()
    result = db.session.execute(
        sa.update(Delivery)
        .where(Delivery.state == "sending", Delivery.lease_until < now)
        .values(state="unknown", lease_until=None,
                last_error="lease expired while sending: the worker stopped; whether it went out is unknown")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def claim_next(worker_id: str) -> int | None:
    """Claim one due delivery (committing the claim); return its id, or None."""
    now = utcnow()
    return queue.claim_one(Delivery, _claimable(now), {"state": "sending", "lease_until": now + lease(),
                                                       "worker_id": worker_id, "attempts": Delivery.attempts + 1})


# ---- sending --------------------------------------------------------------------------------------------


def outgoing_for(delivery: Delivery) -> Outgoing:
    destination = delivery.destination
    data = documents.read_bytes(delivery.document_sha256)  # checks the hash: exactly the sealed bytes
    base_url = current_app.config["MADOGUCHI_BASE_URL"]
    return Outgoing(
        delivery_id=delivery.id, idempotency_key=delivery.idempotency_key, message_id=delivery.message_id,
        attempt=delivery.attempts, receipt_number=delivery.receipt_number, form_slug=delivery.form_slug,
        form_title=delivery.form_title, verification_code=delivery.verification_code,
        verify_url=f"{base_url}/verify/{delivery.verification_code}", document=data,
        document_sha256=delivery.document_sha256, destination_code=destination.code,
        destination_name=destination.name_ja, fax_number=destination.fax_number, email=destination.email,
        webhook_url=destination.webhook_url, office_name=delivery.office_name,
    )


def deliver(delivery_id: int, worker_id: str) -> None:
    """Prepare, send and record one claimed delivery."""
    fault_point("after_claim")
    module = None
    try:
        with only_reading():
            delivery = db.session.get(Delivery, delivery_id)
            module = CHANNEL_MODULES.get(delivery.channel)
            if module is None:
                raise PermanentDeliveryFailure(f"unknown channel {delivery.channel!r}")
            if not delivery.destination.is_active:
                raise PermanentDeliveryFailure(f"destination {delivery.destination.code} is deactivated")
            prepared = module.prepare(outgoing_for(delivery))
            # End the read before the slow, external part: a send never holds a transaction open.
            db.session.commit()
        reference = module.send(prepared)
    except queue.PermanentJobFailure as exc:  # the mail transport's and the channels' (a subclass)
        db.session.rollback()
        _record(delivery_id, worker_id, error=f"{type(exc).__name__}: {exc}", permanent=True)
        return
    except Exception as exc:  # noqa: BLE001 — a gateway down, a timeout, a 5xx: retried with backoff
        db.session.rollback()
        current_app.logger.warning("delivery %s failed: %s", delivery_id, exc)
        _record(delivery_id, worker_id, error=f"{type(exc).__name__}: {exc}")
        return
    fault_point("after_send")
    _record(delivery_id, worker_id, error=None, reference=reference)


def _record(delivery_id: int, worker_id: str, *, error: str | None, permanent: bool = False,
            reference: str | None = None) -> None:
    # Locked on PostgreSQL (SQLite: the worker's BEGIN IMMEDIATE): the ownership check below must hold.
    delivery = db.session.get(Delivery, delivery_id, populate_existing=True, with_for_update=True)
    now = utcnow()
    if error is None:
        # Sent is sent, even if our lease ran out and another worker took the row meanwhile.
        delivery.state, delivery.sent_at, delivery.lease_until, delivery.last_error = "sent", now, None, None
        if reference:
            current_app.logger.info("delivery %s sent: %s", delivery_id, reference)
    elif delivery.state == "sending" and delivery.worker_id == worker_id:
        if queue.retry_or_give_up(delivery, error, permanent=permanent):
            current_app.logger.error("delivery %s is dead: %s", delivery_id, error)
    db.session.commit()


def deliver_due(worker_id: str, limit: int | None = None) -> int:
    """Reap expired leases, then deliver every due row (at most ``limit``); return how many were tried."""
    reap_expired_leases()
    count = 0
    while limit is None or count < limit:
        delivery_id = claim_next(worker_id)
        if delivery_id is None:
            break
        deliver(delivery_id, worker_id)
        count += 1
    return count


def register() -> None:
    """The outbox as a work source of the worker loop (``app.jobs.worker``), after the jobs."""
    # Looked up at each pass (not bound now), so a test may stand in for the send.
    register_source(WorkSource("outbox", run=lambda worker_id, limit: deliver_due(worker_id, limit),
                               due=lambda: wakeup.row_due(Delivery)))
