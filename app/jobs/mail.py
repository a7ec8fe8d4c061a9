"""E-mail: queued in the request's transaction, sent by the worker, through the one mail transport.

With ``SMTP_URL`` the worker sends over SMTP; in development without it, each message is written to
``instance/mail/`` and listed at /dev/mail, so sign-up and reset work on a fresh clone. The delivery
channels that send mail (e-mail, e-mail-to-fax) use ``transport`` too.

TLS (ASVS 12.3.1): ``smtps://host:465`` is implicit TLS; ``smtp://host:587?starttls=required`` sends
nothing, credentials included, until STARTTLS succeeded; the server's certificate and name are checked
against the system's CAs, or against ``?cafile=/path/ca.pem`` (a municipality's own CA). Production
allows plain ``smtp://`` only to a relay on this host (app/config.py).
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import secrets
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from app.jobs.queue import PermanentJobFailure, enqueue

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
    payload = {
        "to": to,
        "subject": subject.strip(),
        "body": body.strip() + "\n",
        # The Message-ID is fixed at enqueue time: a resend after a crash carries the same id,
        # so a receiving system can recognise the duplicate.
        "message_id": stable_message_id(idempotency_key),
    }
    enqueue(KIND, payload, idempotency_key=idempotency_key)


def stable_message_id(idempotency_key: str) -> str:
    """A Message-ID fixed at enqueue time, of one length whatever the key.

    A header longer than a mail line is folded, and a receiver then reads the id with a leading space;
    an id of 40 characters plus the host (a municipality's host of up to
    36 characters fits the 78 of a line) never folds. The random part keeps ids unique across instances that
    reuse keys (a reset development database); the digest ties the id to its idempotency key.
    """
    domain = urlsplit(current_app.config["MADOGUCHI_BASE_URL"]).hostname or "madoguchi.local"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
    return f"<{secrets.token_hex(6)}.{digest}@{domain}>"


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
    """The mail job's handler."""
    transport(build_message(payload, current_app.config["MAIL_SENDER"]))


def transport(message: EmailMessage) -> str:
    """Send ``message`` over ``SMTP_URL``, or in development without one write it to the mail folder;
    production without SMTP is a permanent failure. Returns the Message-ID, for the log."""
    config = current_app.config
    if config["SMTP_URL"]:
        _send_smtp(config["SMTP_URL"], message)
    elif config["MADOGUCHI_ENV"] == "development":
        _write_to_folder(mail_folder(), message)
    else:
        raise PermanentFailure("SMTP_URL is not configured")
    return message["Message-ID"]


def mail_folder() -> Path:
    """Where development writes the mail it would send (listed at /dev/mail)."""
    return Path(current_app.config["INSTANCE_PATH"]) / "mail"


def tls_context(query: dict) -> ssl.SSLContext:
    """Certificate and host name checked (ssl's defaults); ``cafile`` adds the CA to trust."""
    cafile = (query.get("cafile") or [None])[0]
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise PermanentFailure(f"unsupported SMTP_URL scheme {parts.scheme!r}")
    query = parse_qs(parts.query)
    host = parts.hostname or "localhost"
    starttls = query.get("starttls") == ["required"]
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, parts.port or 465, timeout=30, context=tls_context(query))
    else:
        smtp = smtplib.SMTP(host, parts.port or 25, timeout=30)
    with smtp:
        if starttls:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                # Retried: a relay that stopped offering TLS may be misconfigured or attacked (a stripped
                # STARTTLS); nothing is sent in the clear meanwhile.
                raise RuntimeError(f"{host} does not offer STARTTLS; nothing was sent")
            smtp.starttls(context=tls_context(query))
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            # The codes, not the addresses: a job's error is shown and logged (ASVS 16.2.5).
            codes = sorted({code for code, _text in exc.recipients.values()})
            raise PermanentFailure(f"{len(exc.recipients)} recipient(s) refused (SMTP {codes})") from exc


def _write_to_folder(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Write then rename, so /dev/mail never lists a half-written file.
    fd, temp_name = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(bytes(message))
    stem = message["Message-ID"].strip("<>").replace("/", "_")
    os.replace(temp_name, folder / f"{stem}.eml")
