"""The delivery dashboard (/office/deliveries), the case page's delivery section, the resident's summary.

Staff see the deliveries of their own office's forms; administrators see all. A dead or in-doubt
('unknown') delivery can be sent again with 「再送する」: the row goes back to pending with one more
attempt allowed, and the audit ledger records who asked.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from app.accounts.models import Staff
from app.accounts.staff_session import staff_required
from app.audit import service as audit
from app.catalogue.models import FormVersion
from app.db import utcnow
from app.delivery import wakeup
from app.delivery.destinations import CHANNEL_LABELS
from app.delivery.models import DELIVERY_STATES, Delivery, Destination
from app.extensions import db
from app.submissions.models import Submission
from app.workflow.forms import ActionForm

bp = Blueprint("deliveries", __name__, url_prefix="/office/deliveries")

STATE_LABELS = {
    "pending": _l("送付待ち"),
    "sending": _l("送付中"),
    "sent": _l("送付済み"),
    "unknown": _l("確認が必要（送付済みか不明）"),
    "dead": _l("送付できませんでした"),
}
RETRYABLE_STATES = ("dead", "unknown")


# ---- queries the case page and the resident's status page use -------------------------------------------


def deliveries_for(submission: Submission) -> list[Delivery]:
    """Every delivery of one submission, oldest first, with its destination loaded."""
    return list(db.session.scalars(
        sa.select(Delivery).where(Delivery.submission_id == submission.id)
        .options(joinedload(Delivery.destination)).order_by(Delivery.id)
    ))


def sent_summary(submission: Submission, locale: str = "ja") -> list[dict]:
    """For the resident: where the document went and when — the office's name only, never a number or
    address — as [{name, sent_at}], sent deliveries only."""
    return [
        {"name": delivery.destination.name(locale), "sent_at": delivery.sent_at}
        for delivery in deliveries_for(submission) if delivery.state == "sent"
    ]


def visible_to(staff: Staff):
    """A filter on Delivery: all for administrators, else the deliveries of the staff's office's forms."""
    if staff.has_role("admin"):
        return sa.true()
    owned = (
        sa.select(Submission.id).join(FormVersion, Submission.form_version_id == FormVersion.id)
        .where(FormVersion.office_id == staff.office_id)
    )
    return Delivery.submission_id.in_(owned)


# ---- the retry ---------------------------------------------------------------------------------------------


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


# ---- views -------------------------------------------------------------------------------------------------


@bp.get("/")
@staff_required
def index():
    state = request.args.get("state") or None
    statement = (
        sa.select(Delivery, Submission.receipt_number)
        .join(Submission, Delivery.submission_id == Submission.id)
        .options(joinedload(Delivery.destination))
        .where(visible_to(g.staff))
        .order_by(Delivery.id.desc())
        .limit(500)
    )
    if state in DELIVERY_STATES:
        statement = statement.where(Delivery.state == state)
    rows = db.session.execute(statement).all()
    return render_template(
        "office/deliveries.html", rows=rows, state=state, states=DELIVERY_STATES, state_labels=STATE_LABELS,
        channel_labels=CHANNEL_LABELS, action_form=ActionForm(), retryable=RETRYABLE_STATES,
    )


@bp.post("/<int:delivery_id>/retry")
@staff_required
def retry_view(delivery_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    delivery = db.session.scalar(sa.select(Delivery).where(Delivery.id == delivery_id, visible_to(g.staff)))
    if delivery is None:
        abort(404)  # another office's delivery is not there, as far as this staff member can tell
    if delivery.state not in RETRYABLE_STATES:
        flash(_("この送付は再送できる状態ではありません。"), "error")
        return redirect(url_for(".index"))
    retry(delivery, g.staff)
    db.session.commit()
    destination = db.session.get(Destination, delivery.destination_id)
    flash(_("「%(name)s」への送付を再送します。", name=destination.name_ja), "success")
    return redirect(url_for(".index"))
