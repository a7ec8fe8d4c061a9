"""Public pages that belong to no single domain: the catalogue front page, language, session keep-alive."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.accounts.session import idle_seconds_left, load_resident

bp = Blueprint("web", __name__)

#: Japanese labels on screen for the machine state names (DESIGN.md); English comes from the catalogue.
STATE_LABELS = {
    "draft": _l("下書き"),
    "submitted": _l("提出済み"),
    "in_review": _l("審査中"),
    "returned": _l("差し戻し"),
    "rejected": _l("却下"),
    "approved": _l("承認済み"),
    "withdrawn": _l("取下げ"),
}


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths: an open redirect would make a phishing link look like ours."""
    if not target:
        return default
    # Browsers read "/\\evil.example" as "//evil.example", and strip tabs and newlines inside URLs.
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target.rstrip("?") or default


@bp.before_app_request
def _load_resident():
    load_resident()


@bp.get("/")
def index():
    from app.catalogue.definition import localized
    from app.catalogue.service import published_forms

    query = (request.args.get("q") or "").strip()
    forms = published_forms()
    locale = str(get_locale())
    if query:
        needle = query.casefold()
        forms = [
            f for f in forms
            if needle in f.title_ja.casefold() or needle in f.title_en.casefold()
            or needle in localized(f.definition.get("summary"), locale).casefold()
        ]
    return render_template("web/index.html", forms=forms, query=query)


@bp.post("/language")
def set_language():
    locale = request.form.get("locale")
    if locale in ("ja", "en"):
        session["locale"] = locale
        if g.resident is not None and g.resident.locale != locale:
            from app.extensions import db

            g.resident.locale = locale
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("web.index")))


@bp.get("/session")
def session_status():
    """For the expiry warning script: seconds left, without counting as activity."""
    return jsonify({"signed_in": g.resident is not None, "seconds_left": idle_seconds_left() if g.resident else 0})


@bp.post("/session/extend")
def extend_session():
    # load_resident already refreshed last_seen for this request.
    return redirect(safe_next(request.form.get("next"), url_for("web.index")))


ACTION_LABELS = {
    "submit": _l("提出"),
    "enter_route": _l("審査開始"),
    "approve": _l("承認"),
    "return": _l("差し戻し"),
    "resubmit": _l("再提出"),
    "reject": _l("却下"),
    "withdraw": _l("取下げ"),
    "claim": _l("担当の引き受け"),
    "reassign": _l("担当変更"),
    "comment": _l("コメント"),
    "case.view": _l("閲覧"),
    "mynumber.read": _l("個人番号の閲覧"),
    "attachment.read": _l("添付ファイルの閲覧"),
}


ROLE_LABELS = {
    "clerk": _l("担当"),
    "approver": _l("決裁者"),
    "counter_clerk": _l("窓口職員"),
    "admin": _l("管理者"),
}


def role_labels(roles: list[str]) -> str:
    return "、".join(str(ROLE_LABELS.get(role, role)) for role in roles)


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def _localized(text: dict | None) -> str:
    from app.catalogue.definition import localized

    return localized(text, str(get_locale()))


def register_template_helpers(app: Flask) -> None:
    # Globals rather than a context processor: imported macros see globals but not the render context.
    app.jinja_env.globals.update(localized=_localized, state_label=state_label, action_label=action_label,
                                 role_labels=role_labels,
                                 idle_seconds_left=idle_seconds_left)

    @app.context_processor
    def inject():
        return {"current_locale": str(get_locale())}
