"""E-mail with the sealed PDF attached: the stored bytes exactly, so the receiver can verify the seal."""

from __future__ import annotations

from email.message import EmailMessage

from app.delivery.channels.base import Outgoing, PermanentDeliveryFailure, body_text, mail_message
from app.jobs import mail


def prepare(outgoing: Outgoing) -> EmailMessage:
    if not outgoing.email:
        raise PermanentDeliveryFailure(f"destination {outgoing.destination_code} has no e-mail address")
    body = body_text(outgoing, "電子公印付きの文書（PDF）")
    message = mail_message(outgoing, to=outgoing.email, kind="送付", body=body)
    message.add_attachment(outgoing.document, maintype="application", subtype="pdf",
                           filename=f"{outgoing.receipt_number}.pdf")
    return message


def send(message: EmailMessage) -> str:
    return mail.transport(message)
