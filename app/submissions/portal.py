"""Public pages of the resident portal that belong to no single form: the catalogue front page, the
language choice and the session keep-alive (blueprint ``web``)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale

from app.accounts.session import idle_seconds_left, load_resident
from app.catalogue.service import published_forms
from app.http import safe_next
from app.i18n import LOCALES, localized

bp = Blueprint("web", __name__)


@bp.before_app_request
def _load_resident():
    load_resident()


@bp.get("/")
def index():
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
    if locale in LOCALES:
        session["locale"] = locale
        if g.resident is not None and g.resident.locale != locale:
            g.resident.locale = locale
    return redirect(safe_next(request.form.get("next"), url_for("web.index")))


@bp.get("/session")
def session_status():
    """For the expiry warning script: seconds left, without counting as activity."""
    return jsonify({"signed_in": g.resident is not None, "seconds_left": idle_seconds_left() if g.resident else 0})


@bp.post("/session/extend")
def extend_session():
    # load_resident already refreshed last_seen for this request.
    return redirect(safe_next(request.form.get("next"), url_for("web.index")))
