"""The delivery dashboard (/office/deliveries): what was sent where, and 「再送する」 for what was not."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.accounts.staff_session import staff_required
from app.delivery import service
from app.delivery.labels import CHANNEL_LABELS, STATE_LABELS, error_words
from app.delivery.models import DELIVERY_STATES
from app.forms import ButtonForm

bp = Blueprint("deliveries", __name__, url_prefix="/office/deliveries")


@bp.get("/")
@staff_required()
def index():
    state = request.args.get("state") or None
    rows = service.recent(g.staff, state if state in DELIVERY_STATES else None)
    return render_template(
        "office/deliveries.html", rows=rows, state=state, states=DELIVERY_STATES, state_labels=STATE_LABELS,
        channel_labels=CHANNEL_LABELS, action_form=ButtonForm(), retryable=service.RETRYABLE_STATES,
        error_words=error_words,
    )


@bp.post("/<int:delivery_id>/retry")
@staff_required()
def retry_view(delivery_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    delivery = service.visible_delivery(g.staff, delivery_id)
    if delivery is None:
        abort(404)  # another office's delivery is not there, as far as this staff member can tell
    if delivery.state not in service.RETRYABLE_STATES:
        flash(_("この送付は再送できる状態ではありません。"), "error")
        return redirect(url_for(".index"))
    service.retry(delivery, g.staff)
    flash(_("「%(name)s」への送付を再送します。", name=delivery.destination.name_ja), "success")
    return redirect(url_for(".index"))
