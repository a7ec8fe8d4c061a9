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
