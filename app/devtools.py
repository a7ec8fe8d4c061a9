"""Development stand-ins for outside services, registered only when MADOGUCHI_ENV is development:
/dev/mail (the mail folder as a mailbox) and /dev/webhook (a receiving office's system).

They let the demo and a fresh clone work with nothing outside. Even in development they answer only
clients on this machine (a loopback address): /dev/mail shows every reset link. Stands outside the layers.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template, request

from app.delivery.channels.webhook import WebhookVerificationError, verify
from app.extensions import csrf
from app.jobs.mail import mail_folder

mail_bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")
webhook_bp = Blueprint("dev_webhook", __name__, url_prefix="/dev/webhook")


def register(app: Flask) -> None:
    if app.config["MADOGUCHI_ENV"] != "development":  # the caller checks too: never in production
        return
    app.register_blueprint(mail_bp)
    app.register_blueprint(webhook_bp)
    csrf.exempt(webhook_bp)


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


@mail_bp.before_request
@webhook_bp.before_request
def only_this_machine():
    # Behind ProxyFix remote_addr is the real client's; without proxies it is the peer's.
    if not is_loopback(request.remote_addr):
        abort(404)


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
    """Development stand-in for a receiving office's system, doing what a receiver must: check the
    Standard Webhooks signature and timestamp, accept each webhook-id once, keep the body."""
    body = request.get_data(cache=False)
    try:
        message_id = verify(request.headers, body, current_app.config["MADOGUCHI_WEBHOOK_SECRET"])
    except WebhookVerificationError as exc:
        return {"error": {"code": "bad_signature", "message": str(exc)}}, 401
    folder = Path(current_app.config["INSTANCE_PATH"]) / "webhooks"
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in message_id)[:120] or "unnamed"
    path = folder / f"{name}.json"
    if path.exists():  # a retry of a message already taken: acknowledge, keep the first
        return {"received": message_id, "duplicate": True}, 200
    path.write_text(json.dumps(json.loads(body), ensure_ascii=False, indent=1))
    return {"received": message_id}, 200
