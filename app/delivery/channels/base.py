"""What every channel shares: the outgoing message's data, the channel interface, the permanent-failure
error, mail helpers.

A channel (``Channel``) is a module with two functions: ``prepare(outgoing)`` turns the plain data of
an ``Outgoing`` into everything ``send(prepared)`` needs (it may render a fax raster); ``send`` does
the I/O only, outside any transaction, raises on failure, and returns a reference for the log.
Channels see plain data, never a database row.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app

from app.jobs.queue import PermanentJobFailure


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
    #: The office that sends it (on the fax cover sheet).
    office_name: str

    @property
    def is_resend(self) -> bool:
        return self.attempt > 1

    def resend_mark(self) -> str:
        """「再送（第n回）」 on every attempt after the first, so a duplicate is recognisable; else ''."""
        return f"再送（第{self.attempt}回）" if self.is_resend else ""


class Channel(Protocol):
    """A delivery channel (a module of this package)."""

    def prepare(self, outgoing: Outgoing) -> Any: ...

    def send(self, prepared: Any) -> str: ...


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
