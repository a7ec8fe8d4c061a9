"""Webhook: a JSON POST to another system, signed with HMAC-SHA256 (``MADOGUCHI_WEBHOOK_SECRET``).

The receiver checks ``X-Madoguchi-Signature: sha256=<hex>`` over the raw body and deduplicates on
``Idempotency-Key``. 2xx is sent; 4xx is a permanent refusal (except 408 and 429, which are retried);
5xx, a timeout or a refused connection is retried with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from flask import current_app

from app.delivery.channels.base import Outgoing, PermanentDeliveryFailure

TIMEOUT_SECONDS = 30
_RETRYABLE_4XX = (408, 429)


@dataclass
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def prepare(outgoing: Outgoing) -> WebhookRequest:
    secret = current_app.config["MADOGUCHI_WEBHOOK_SECRET"]
    if not secret:
        raise PermanentDeliveryFailure("MADOGUCHI_WEBHOOK_SECRET is not configured")
    if not outgoing.webhook_url:
        raise PermanentDeliveryFailure(f"destination {outgoing.destination_code} has no webhook URL")
    body = json.dumps({
        "receipt_number": outgoing.receipt_number,
        "form": outgoing.form_slug,
        "verification_code": outgoing.verification_code,
        "verify_url": outgoing.verify_url,
        "document_sha256": outgoing.document_sha256,
        "document_base64": base64.b64encode(outgoing.document).decode("ascii"),
        "attempt": outgoing.attempt,
    }, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": outgoing.idempotency_key,
        "X-Madoguchi-Signature": sign(body, secret),
        "X-Madoguchi-Attempt": str(outgoing.attempt),
    }
    return WebhookRequest(outgoing.webhook_url, body, headers)


def send(request: WebhookRequest) -> str:
    http_request = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        # urllib follows redirects only for GET/HEAD: a POST redirect arrives here as an HTTPError.
        with urllib.request.urlopen(http_request, timeout=TIMEOUT_SECONDS) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX:
            raise PermanentDeliveryFailure(f"the receiver refused the delivery: HTTP {exc.code}") from exc
        raise RuntimeError(f"HTTP {exc.code}") from exc
