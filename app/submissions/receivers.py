"""Who receives a case's approved document, and why: said to the resident before they submit.

A form's destinations (``destinations:`` of its pinned version) with their purpose and legal basis, each
named as registered (``destinations.yaml``). A receiver outside the city government (``external``) gets
the document only with the resident's consent, a box left unticked on the check page
(``consents_from``); what was chosen is recorded with the submission and shown on its pages.
"""

from __future__ import annotations

from app.catalogue.definition import destination_entries
from app.catalogue.models import FormVersion
from app.delivery import destinations
from app.delivery.service import deliveries_for
from app.i18n import localized
from app.submissions.models import Submission
from app.submissions.states import State

#: The check page's checkboxes: one ``consent`` value per external destination code ticked.
CONSENT_FIELD = "consent"


def receivers(version: FormVersion, consents: dict | None, locale: str) -> list[dict]:
    """``[{code, name, purpose, legal_basis, external, consented, receives}]`` in the form's order.

    ``consented``: for an external receiver, the resident's recorded answer (None before submitting);
    ``receives``: whether the approved document goes there (internal, or external with consent).
    """
    entries = destination_entries(version.definition)
    found = destinations.by_codes([entry["code"] for entry in entries])
    consents = consents or {}
    result = []
    for entry in entries:
        destination = found.get(entry["code"])
        if destination is None:
            continue
        consented = consents.get(entry["code"]) if destination.external else None
        result.append({
            "code": entry["code"],
            "name": destination.name(locale),
            "purpose": localized(entry["purpose"], locale),
            "legal_basis": localized(entry["legal_basis"], locale),
            "external": destination.external,
            "consented": consented,
            "receives": not destination.external or consented is True,
        })
    return result


def consents_from(version: FormVersion, ticked: list[str]) -> dict[str, bool]:
    """The consents posted from the check page: ``{code: ticked?}`` for each external destination."""
    entries = destination_entries(version.definition)
    found = destinations.by_codes([entry["code"] for entry in entries])
    return {entry["code"]: entry["code"] in ticked for entry in entries
            if entry["code"] in found and found[entry["code"]].external}


def receivers_of_case(submission: Submission, locale: str) -> list[dict]:
    """The receivers of a filed case with where each stands, for its status and case pages: ``status`` is
    ``no_consent`` (external, not consented: never sent), ``after_approval`` (waiting for the decision),
    ``not_sent`` (the case ended without approval), ``sent`` (with ``sent_at``) or ``sending``."""
    sent = {}
    for delivery in deliveries_for(submission.id):
        sent.setdefault(delivery.destination.code, delivery)
    result = []
    for receiver in receivers(submission.form_version, submission.destination_consents, locale):
        delivery = sent.get(receiver["code"])
        if not receiver["receives"]:
            status = "no_consent"
        elif delivery is not None:
            status = "sent" if delivery.state == "sent" else "sending"
        elif submission.state in (State.REJECTED, State.WITHDRAWN):
            status = "not_sent"
        else:
            status = "after_approval"
        result.append({**receiver, "status": status, "sent_at": delivery.sent_at if delivery else None})
    return result
