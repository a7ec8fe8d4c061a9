"""Webhook: a JSON POST to another system, signed as Standard Webhooks specify (standardwebhooks.com).

Every request carries three headers, all covered by the signature:

- ``webhook-id``: the delivery's idempotency key, the same on every retry (the receiver's dedupe key);
- ``webhook-timestamp``: when this attempt was signed, whole seconds since 1970 (UTC);
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">``.

The key is ``MADOGUCHI_WEBHOOK_SECRET``: a ``whsec_<base64>`` secret is used as the decoded bytes (what
the Standard Webhooks libraries expect), any other value as its UTF-8 bytes. A receiver recomputes
the signature with a constant-time comparison, rejects a timestamp more than five minutes from its
clock, and remembers the ids it has accepted for longer than that (``verify`` below is the reference,
used by the development receiver and the tests).

2xx is sent; a redirect is a refusal (never followed: the document and the signature must not go to
another address, and a POST turned into a GET would send nothing); 4xx is a permanent refusal
(except 408 and 429, which are retried); 5xx, a timeout or a refused connection is retried with
backoff. Production sends only over https.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from app.delivery.channels.base import Outgoing, PermanentDeliveryFailure

TIMEOUT_SECONDS = 30
#: How far a receiver accepts a timestamp from its own clock (the Standard Webhooks default).
TOLERANCE_SECONDS = 300
_RETRYABLE_4XX = (408, 429)


class WebhookVerificationError(ValueError):
    """A received webhook whose signature, timestamp or headers do not check out."""


@dataclass
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def internal_host(host: str) -> bool:
    """This machine, a link-local address (a cloud's metadata service), or no address at all: never a
    receiving office's system in production. Private ranges stay allowed (LGWAN systems live there)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast


def secret_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise ValueError("MADOGUCHI_WEBHOOK_SECRET: whsec_ must be followed by base64") from exc
    return secret.encode()


def sign(message_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """The ``webhook-signature`` value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(headers, body: bytes, secret: str, *, now: float | None = None) -> str:
    """Check a received webhook as a receiver must; returns its ``webhook-id``.

    Raises ``WebhookVerificationError`` for a missing header, a timestamp outside the tolerance, or
    no matching ``v1`` signature. Replays within the tolerance are the receiver's to refuse by the id.
    """
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not message_id or not timestamp.isdigit() or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp is too old or too far in the future")
    expected = sign(message_id, int(timestamp), body, secret)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures.split()):
        raise WebhookVerificationError("no signature matches")
    return message_id


def prepare(outgoing: Outgoing) -> WebhookRequest:
    config = current_app.config
    secret = config["MADOGUCHI_WEBHOOK_SECRET"]
    if not secret:
        raise PermanentDeliveryFailure("MADOGUCHI_WEBHOOK_SECRET is not configured")
    if not outgoing.webhook_url:
        raise PermanentDeliveryFailure(f"destination {outgoing.destination_code} has no webhook URL")
    url = urlsplit(outgoing.webhook_url)
    production = config["MADOGUCHI_ENV"] == "production"
    if url.scheme != "https" and (production or url.scheme != "http"):
        raise PermanentDeliveryFailure(
            f"destination {outgoing.destination_code}: webhooks go only to https:// URLs "
            "(http:// in development only)")
    if production and internal_host(url.hostname or ""):
        raise PermanentDeliveryFailure(f"destination {outgoing.destination_code}: a webhook to this machine or a "
                                       "link-local address is refused in production")
    body = json.dumps({
        "receipt_number": outgoing.receipt_number,
        "form": outgoing.form_slug,
        "verification_code": outgoing.verification_code,
        "verify_url": outgoing.verify_url,
        "document_sha256": outgoing.document_sha256,
        "document_base64": base64.b64encode(outgoing.document).decode("ascii"),
        "attempt": outgoing.attempt,
    }, ensure_ascii=False, separators=(",", ":")).encode()
    # Signed now, at the attempt: a retry hours later carries a fresh timestamp (and the same id).
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "webhook-id": outgoing.idempotency_key,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(outgoing.idempotency_key, timestamp, body, secret),
    }
    return WebhookRequest(outgoing.webhook_url, body, headers)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx then arrives as an HTTPError


_OPENER = urllib.request.build_opener(_RefuseRedirects)


def send(request: WebhookRequest) -> str:
    http_request = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        # bandit B310: http(s) only, checked in prepare
        with _OPENER.open(http_request, timeout=TIMEOUT_SECONDS) as response:  # nosec B310
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise PermanentDeliveryFailure(
                f"the receiver answered with a redirect (HTTP {exc.code}); webhooks never follow redirects: "
                "correct the destination's URL") from exc
        if 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX:
            raise PermanentDeliveryFailure(f"the receiver refused the delivery: HTTP {exc.code}") from exc
        raise RuntimeError(f"HTTP {exc.code}") from exc
