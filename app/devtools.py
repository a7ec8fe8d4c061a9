"""Development stand-ins for outside services, registered only when MADOGUCHI_ENV is development:
/dev/mail (the mail folder as a mailbox) and /dev/webhook (a receiving office's system).

They let the demo and a fresh clone work with nothing outside. Stands outside the layers.
"""

from __future__ import annotations

import email
import email.policy
import hmac
import json
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template, request

from app.delivery.channels.webhook import sign
from app.extensions import csrf
from app.jobs.mail import mail_folder

mail_bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")
webhook_bp = Blueprint("dev_webhook", __name__, url_prefix="/dev/webhook")


def register(app: Flask) -> None:
    app.register_blueprint(mail_bp)
    app.register_blueprint(webhook_bp)
    csrf.exempt(webhook_bp)


def _read(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


@mail_bp.get("/")
def index():
    files = sorted(mail_folder().glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)[:200]
    messages = [{"name": p.stem, "message": _read(p)} for p in files]
    return render_template("dev/mail_index.html", messages=messages)


@mail_bp.get("/<name>")
def show(name: str):
    path = mail_folder() / f"{name}.eml"
    # Only names that index() produced: no path separators, no traversal.
    if "/" in name or ".." in name or not path.is_file():
        abort(404)
    message = _read(path)
    return render_template("dev/mail_show.html", message=message, body=message.get_body(("plain",)).get_content())


@webhook_bp.post("")
def receive_webhook():
    """Development stand-in for a receiving office's system: checks the signature, keeps the body."""
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
