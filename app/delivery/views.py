"""/dev/mail: the development mailbox (registered only when MADOGUCHI_ENV is development)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


def _folder() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "mail"


def _read(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


@bp.get("/")
def index():
    files = sorted(_folder().glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)[:200]
    messages = [{"name": p.stem, "message": _read(p)} for p in files]
    return render_template("dev/mail_index.html", messages=messages)


@bp.get("/<name>")
def show(name: str):
    path = _folder() / f"{name}.eml"
    # Only names that list() produced: no path separators, no traversal.
    if "/" in name or ".." in name or not path.is_file():
        abort(404)
    message = _read(path)
    return render_template("dev/mail_show.html", message=message, body=message.get_body(("plain",)).get_content())


webhook_bp = Blueprint("dev_webhook", __name__, url_prefix="/dev/webhook")


@webhook_bp.post("")
def receive_webhook():
    """Development stand-in for a receiving office's system: checks the signature, keeps the body.

    Lets the demo's webhook destination complete without outside services; registered only when
    MADOGUCHI_ENV is development, like /dev/mail.
    """
    import hmac
    import json

    from flask import request

    from app.delivery.channels.webhook import sign

    body = request.get_data(cache=False)
    expected = sign(body, current_app.config["MADOGUCHI_WEBHOOK_SECRET"])
    if not hmac.compare_digest(expected, request.headers.get("X-Madoguchi-Signature", "")):
        return {"error": {"code": "bad_signature", "message": "signature does not match"}}, 401
    key = request.headers.get("Idempotency-Key", "")
    folder = Path(current_app.config["INSTANCE_PATH"]) / "webhooks"
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in key)[:120] or "unnamed"
    (folder / f"{name}.json").write_text(json.dumps(json.loads(body), ensure_ascii=False, indent=1))
    return {"received": key}, 200
