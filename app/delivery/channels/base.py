"""What every channel shares: the outgoing message's data, the permanent-failure error, mail helpers.

A channel module has two functions: ``prepare(outgoing)``, run inside a read-only transaction (it may
render a fax raster from the database), returns everything ``send(prepared)`` needs; ``send`` does the
I/O only, outside any transaction, raises on failure, and returns a reference for the log.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import current_app

from app.delivery.jobs import PermanentJobFailure


class PermanentDeliveryFailure(PermanentJobFailure):
    """The destination refused, or can never be reached as configured: no retry (the row goes dead)."""


@dataclass
class Outgoing:
    delivery_id: int
    idempotency_key: str
    message_id: str | None
    #: 1 for the first attempt; every later one is a 再送 (resend) and says so.
    attempt: int
    receipt_number: str
    form_slug: str
    form_title: str
    verification_code: str
    verify_url: str
    #: The stored sealed bytes, byte for byte (their SHA-256 was checked on reading).
    document: bytes
    document_sha256: str
    destination_code: str
    destination_name: str
    fax_number: str | None
    email: str | None
    webhook_url: str | None
    #: ORM rows for the fax renderer, used in ``prepare`` only (never after its transaction ended).
    submission: Any = field(repr=False, default=None)
    destination: Any = field(repr=False, default=None)

    @property
    def is_resend(self) -> bool:
        return self.attempt > 1

    def resend_mark(self) -> str:
        """「再送（第n回）」 on every attempt after the first, so a duplicate is recognisable; else ''."""
        return f"再送（第{self.attempt}回）" if self.is_resend else ""


def subject(outgoing: Outgoing, kind: str) -> str:
    mark = f"【{outgoing.resend_mark()}】" if outgoing.is_resend else ""
    return f"{mark}{kind}：{outgoing.form_title} 受付番号 {outgoing.receipt_number}"


def mail_message(outgoing: Outgoing, *, to: str, kind: str, body: str) -> EmailMessage:
    """A message with the headers every delivery by mail carries (the idempotency key, a stable Message-ID)."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject(outgoing, kind)
    message["Message-ID"] = outgoing.message_id
    message["Date"] = email.utils.formatdate(localtime=False)
    message["X-Madoguchi-Idempotency-Key"] = outgoing.idempotency_key
    message["X-Madoguchi-Attempt"] = str(outgoing.attempt)
    message.set_content(body)
    return message


def body_text(outgoing: Outgoing, what: str) -> str:
    lines = [
        f"{outgoing.destination_name} 御中",
        "",
        f"{what}をお送りします。",
        f"受付番号：{outgoing.receipt_number}",
        f"様式：{outgoing.form_title}",
        f"検証コード：{outgoing.verification_code}",
        f"真正性の確認：{outgoing.verify_url}",
    ]
    if outgoing.is_resend:
        lines += ["", f"※ {outgoing.resend_mark()}：同じ受付番号の文書をすでに受け取っている場合は、重複です。"]
    return "\n".join(lines) + "\n"


def smtp_deliver(message: EmailMessage) -> str:
    """SMTP_URL when configured; the development mail folder otherwise (production: a permanent failure)."""
    from app.delivery import mail

    config = current_app.config
    if config["SMTP_URL"]:
        mail._send_smtp(config["SMTP_URL"], message)
    elif config["MADOGUCHI_ENV"] == "development":
        mail._write_to_folder(Path(config["INSTANCE_PATH"]) / "mail", message)
    else:
        raise PermanentDeliveryFailure("SMTP_URL is not configured")
    return message["Message-ID"]
