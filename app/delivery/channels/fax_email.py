"""Fax by e-mail (ITU-T T.37 store-and-forward): a TIFF-F (MH/G3, fine) attached to a message for the
gateway address ``MADOGUCHI_FAX_GATEWAY.format(number=digits)``. The gateway dials; we never do."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app

from app.delivery.channels.base import Outgoing, PermanentDeliveryFailure, body_text, mail_message
from app.jobs import mail


def render(outgoing: Outgoing, compression: str) -> bytes:
    """The cover sheet and the sealed document as TIFF Class F (fine)."""
    # Imported here: WeasyPrint renders the cover sheet, and only the worker sends.
    from app.documents.fax_cover import FaxCover, render_fax

    cover = FaxCover(
        to_name=outgoing.destination_name, to_fax=outgoing.fax_number or "",
        municipality=current_app.config["MADOGUCHI_MUNICIPALITY"], office_name=outgoing.office_name,
        form_title=outgoing.form_title, receipt_number=outgoing.receipt_number,
        verification_code=outgoing.verification_code, verify_url=outgoing.verify_url,
        # The attempt goes on the cover sheet: from the second one on it reads 再送, so a duplicate
        # fax after a crash is recognisable on paper.
        attempt=outgoing.attempt,
    )
    return render_fax(outgoing.document, cover, resolution="fine", compression=compression)


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
    return mail.transport(message)
