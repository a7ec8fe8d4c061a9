"""Fax by e-mail (ITU-T T.37 store-and-forward): a TIFF-F (MH/G3, fine) attached to a message for the
gateway address ``MADOGUCHI_FAX_GATEWAY.format(number=digits)``. The gateway dials; we never do."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app

from app.delivery.channels.base import Outgoing, PermanentDeliveryFailure, body_text, mail_message, smtp_deliver


def render(outgoing: Outgoing, compression: str) -> bytes:
    from app.documents.faxing import render_fax

    # The attempt goes on the cover sheet: from the second one on it reads 再送, so a duplicate
    # fax after a crash is recognisable on paper.
    return render_fax(outgoing.submission, outgoing.destination, resolution="fine", compression=compression,
                      attempt=outgoing.attempt)


def digits(number: str | None) -> str:
    return "".join(ch for ch in number or "" if ch.isdigit())


def prepare(outgoing: Outgoing) -> EmailMessage:
    gateway = current_app.config["MADOGUCHI_FAX_GATEWAY"]
    if not gateway:
        raise PermanentDeliveryFailure("MADOGUCHI_FAX_GATEWAY is not configured")
    number = digits(outgoing.fax_number)
    if not number:
        raise PermanentDeliveryFailure(f"destination {outgoing.destination_code} has no fax number")
    tiff = render(outgoing, "g3")
    message = mail_message(outgoing, to=gateway.format(number=number), kind="FAX送信",
                           body=body_text(outgoing, "FAX"))
    message.add_attachment(tiff, maintype="image", subtype="tiff", filename=f"{outgoing.receipt_number}.tif")
    return message


def send(message: EmailMessage) -> str:
    return smtp_deliver(message)
