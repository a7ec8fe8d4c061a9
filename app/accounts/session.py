"""The resident's signed-in session.

Flask's cookie session is signed, not revocable, so it names the resident's ``session_version``:
signing out bumps the version in the database and every copy of the old cookie dies with it.
Inactivity is enforced here too: ``last_seen`` older than the idle limit ends the session, and so does
``RESIDENT_ABSOLUTE_HOURS`` after sign-in, however active (ASVS 7.3.2). The cookie is a session
cookie (no Expires): the browser forgets it when it closes (SESSION_PERMANENT is off).
"""

from __future__ import annotations

import functools
import time

from flask import current_app, g, redirect, request, session, url_for

from app.accounts.models import Resident
from app.extensions import db

_KEY = "resident"


#: Survive sign-in: the language, and entries stashed when the session idled out mid-page.
_CARRIED_OVER = ("locale", "stash")
#: Other sign-ins in the same browser (the office's, app.accounts.staff_session): the resident's
#: sign-in and sign-out leave them alone.
_OTHER_SIGN_INS = ("staff",)


def sign_in(resident: Resident) -> None:
    carried = {key: session[key] for key in (*_CARRIED_OVER, *_OTHER_SIGN_INS) if key in session}
    session.clear()  # a fresh session on sign-in: no fixation of a pre-sign-in cookie
    session.update(carried)
    now = int(time.time())
    session[_KEY] = {"id": resident.id, "v": resident.session_version, "since": now}
    session["last_seen"] = now


def sign_out(resident: Resident | None) -> None:
    if resident is not None:
        resident.session_version += 1
        db.session.flush()
    kept = {key: session[key] for key in ("locale", *_OTHER_SIGN_INS) if session.get(key)}
    session.clear()
    session.update(kept)


def idle_seconds_left() -> int:
    limit = current_app.config["RESIDENT_IDLE_MINUTES"] * 60
    return max(0, limit - (int(time.time()) - session.get("last_seen", 0)))


def load_resident() -> None:
    """Before each request: put the signed-in resident (or None) on ``g``; note if the session idled out."""
    g.resident = None
    g.session_expired = False
    data = session.get(_KEY)
    if not data:
        return
    absolute = current_app.config["RESIDENT_ABSOLUTE_HOURS"] * 3600
    if idle_seconds_left() <= 0 or int(time.time()) - int(data.get("since", 0)) >= absolute:
        session.pop(_KEY, None)
        g.session_expired = True
        return
    resident = db.session.get(Resident, data.get("id"))
    if resident is None or resident.session_version != data.get("v"):
        session.pop(_KEY, None)
        g.session_expired = True
        return
    g.resident = resident
    if request.endpoint != "web.session_status":
        session["last_seen"] = int(time.time())


def resident_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("resident") is None:
            return redirect(url_for("accounts.sign_in", next=request.full_path if request.method == "GET" else None))
        return view(*args, **kwargs)

    return wrapped
