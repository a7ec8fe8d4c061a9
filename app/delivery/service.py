"""What staff and residents see of deliveries, and the retry: queries by submission and office.

Staff see the deliveries of their own office's forms; administrators see all. A dead or in-doubt
('unknown') delivery can be sent again: the row goes back to pending with one more attempt allowed,
and the audit ledger records who asked. Services flush; the request commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.accounts.models import Staff
from app.audit import service as audit
from app.db import utcnow
from app.delivery.models import Delivery
from app.extensions import db
from app.jobs import wakeup

RETRYABLE_STATES = ("dead", "unknown")


def deliveries_for(submission_id: int) -> list[Delivery]:
    """Every delivery of one submission, oldest first, with its destination loaded."""
    return list(db.session.scalars(
        sa.select(Delivery).where(Delivery.submission_id == submission_id)
        .options(joinedload(Delivery.destination)).order_by(Delivery.id)
    ))


def visible_to(staff: Staff):
    """A filter on Delivery: all for administrators, else the deliveries of the staff's office's forms."""
    if staff.has_role("admin"):
        return sa.true()
    return Delivery.office_id == staff.office_id


def recent(staff: Staff, state: str | None, limit: int = 500) -> list[Delivery]:
    """The dashboard: the deliveries ``staff`` may see, newest first, optionally in one state."""
    statement = (
        sa.select(Delivery).options(joinedload(Delivery.destination)).where(visible_to(staff))
        .order_by(Delivery.id.desc()).limit(limit)
    )
    if state is not None:
        statement = statement.where(Delivery.state == state)
    return list(db.session.scalars(statement))


def visible_delivery(staff: Staff, delivery_id: int) -> Delivery | None:
    return db.session.scalar(sa.select(Delivery).where(Delivery.id == delivery_id, visible_to(staff)))


def retry(delivery: Delivery, staff: Staff) -> None:
    """Send a dead or in-doubt delivery again (from the dashboard); flushes. The next attempt carries 再送."""
    if delivery.state not in RETRYABLE_STATES:
        raise ValueError(f"delivery {delivery.id} is {delivery.state}, not dead or unknown")
    previous = delivery.state
    delivery.state = "pending"
    delivery.run_after = utcnow()
    delivery.lease_until = None
    # One more attempt than used so far: a failure sends it straight back to dead, visibly.
    delivery.max_attempts = max(delivery.max_attempts, delivery.attempts + 1)
    audit.record("delivery.retry", actor_type="staff", actor_id=staff.id, subject_type="delivery",
                 subject_id=delivery.id, data={"from_state": previous, "submission_id": delivery.submission_id})
    wakeup.notify()  # at commit: the worker sends it now, not at its next poll
    db.session.flush()
