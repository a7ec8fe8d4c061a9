"""E-mail: queued in the request's transaction, sent by the worker.

With ``SMTP_URL`` the worker sends over SMTP; in development without it, each message is written to
``instance/mail/`` and listed at /dev/mail, so sign-up and reset work on a fresh clone.
"""

from __future__ import annotations

import email.utils
import os
import smtplib
import tempfile
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from app.delivery.jobs import PermanentJobFailure, enqueue

KIND = "mail"


class PermanentFailure(PermanentJobFailure):
    """The message can never be delivered as it is; retrying would not help."""


def queue_mail(*, to: str, template: str, locale: str, idempotency_key: str, **context) -> None:
    """Render ``templates/mail/<template>.txt`` in the recipient's language and queue it.

    The first line of the template is the subject; the rest is the body.
    """
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", **context)
    subject, _, body = text.lstrip().partition("\n")
    domain = urlsplit(current_app.config["MADOGUCHI_BASE_URL"]).hostname or "madoguchi.local"
    payload = {
        "to": to,
        "subject": subject.strip(),
        "body": body.strip() + "\n",
        # The Message-ID is fixed at enqueue time: a resend after a crash carries the same id,
        # so a receiving system can recognise the duplicate.
        "message_id": email.utils.make_msgid(idstring=idempotency_key.replace(":", "."), domain=domain),
    }
    enqueue(KIND, payload, idempotency_key=idempotency_key)


def build_message(payload: dict, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = payload["message_id"]
    message["Date"] = email.utils.formatdate(localtime=False)
    message.set_content(payload["body"])
    return message


def send(payload: dict) -> None:
    config = current_app.config
    message = build_message(payload, config["MAIL_SENDER"])
    if config["SMTP_URL"]:
        _send_smtp(config["SMTP_URL"], message)
    elif config["MADOGUCHI_ENV"] == "development":
        _write_to_folder(Path(config["INSTANCE_PATH"]) / "mail", message)
    else:
        raise PermanentFailure("SMTP_URL is not configured")


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise PermanentFailure(f"unsupported SMTP_URL scheme {parts.scheme!r}")
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    with smtp_class(parts.hostname or "localhost", port, timeout=30) as smtp:
        if parts.username:
            smtp.login(parts.username, parts.password or "")
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc


def _write_to_folder(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Write then rename, so /dev/mail never lists a half-written file.
    fd, temp_name = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(bytes(message))
    stem = message["Message-ID"].strip("<>").replace("/", "_")
    os.replace(temp_name, folder / f"{stem}.eml")
