"""The staff member's signed-in session, separate from the resident's.

It lives under its own key of the session (``staff``), so a resident signing in or out in the same
browser leaves it alone, and signing out of the office leaves the resident's session alone. Like the
resident's, it names the account's ``session_version``: sign-out and deactivation bump the version in
the database and every copy of the old cookie is refused from the next request on.

Signing in has two stages. After the password the session is *pending* (``mfa`` false): it lets the
browser reach the code page (or the enrolment page) and nothing else; ``g.staff`` stays None. Only a
correct TOTP code makes it complete. Both stages idle out after ``STAFF_IDLE_MINUTES`` and a complete
session also ends ``ABSOLUTE_LIMIT`` after sign-in, whatever the activity.
"""

from __future__ import annotations

import functools
import time

from flask import abort, current_app, g, redirect, request, session, url_for

from app.accounts.models import Staff
from app.extensions import db

_KEY = "staff"
#: A working day: after this a complete session ends even if it was never idle.
ABSOLUTE_LIMIT_SECONDS = 12 * 60 * 60
#: Endpoints that read the session without counting as activity.
_PASSIVE_ENDPOINTS = frozenset({"staff_auth.session_status", "static"})


def _now() -> int:
    return int(time.time())


def _idle_limit() -> int:
    return int(current_app.config["STAFF_IDLE_MINUTES"]) * 60


def _new_csrf_token() -> None:
    """A new CSRF token at each stage of sign-in (ASVS 7.2.4): a token planted or read before signing in
    is worth nothing after. The resident's part of a shared browser session stays."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def begin_sign_in(staff: Staff) -> None:
    """The password was right: a pending session, waiting for the code (or for enrolment)."""
    now = _now()
    _new_csrf_token()
    session[_KEY] = {"id": staff.id, "v": staff.session_version, "mfa": False, "seen": now, "since": now}


def complete_sign_in(staff: Staff) -> None:
    """The code was right: a complete session, started afresh (nothing of the pending one carries over)."""
    now = _now()
    _new_csrf_token()
    session[_KEY] = {"id": staff.id, "v": staff.session_version, "mfa": True, "seen": now, "since": now}


def sign_out(staff: Staff | None) -> None:
    """End this staff member's sessions everywhere (version bump) and drop the staff key here.

    The resident's part of the session, the language and the CSRF token stay as they are.
    """
    if staff is not None:
        staff.session_version += 1
        db.session.flush()
    session.pop(_KEY, None)


def staff_idle_seconds_left() -> int:
    data = session.get(_KEY) or {}
    return max(0, _idle_limit() - (_now() - int(data.get("seen", 0))))


def _live_account(data: dict) -> Staff | None:
    """The account a session names, if it still exists, is active and the version matches."""
    staff = db.session.get(Staff, data.get("id"))
    if staff is None or not staff.is_active or staff.session_version != data.get("v"):
        return None
    return staff


def load_staff() -> None:
    """Before each request: ``g.staff`` is the fully signed-in, active staff member, or None.

    ``g.staff_session_expired`` tells the sign-in page why a session that was there has ended.
    """
    g.staff = None
    g.staff_session_expired = False
    data = session.get(_KEY)
    if not isinstance(data, dict):
        session.pop(_KEY, None)
        return
    now = _now()
    idle = now - int(data.get("seen", 0)) >= _idle_limit()
    too_old = now - int(data.get("since", 0)) >= ABSOLUTE_LIMIT_SECONDS
    if idle or too_old:
        session.pop(_KEY, None)
        g.staff_session_expired = bool(data.get("mfa"))
        return
    if not data.get("mfa"):
        return  # pending: grants nothing; the code and enrolment pages read it with pending_staff()
    staff = _live_account(data)
    if staff is None:
        session.pop(_KEY, None)
        g.staff_session_expired = True
        return
    g.staff = staff
    if request.endpoint not in _PASSIVE_ENDPOINTS:
        session[_KEY] = {**data, "seen": now}


def pending_staff() -> Staff | None:
    """The staff member who gave the right password and still owes the code, if the session is pending."""
    data = session.get(_KEY)
    if not isinstance(data, dict) or data.get("mfa"):
        return None
    now = _now()
    if now - int(data.get("seen", 0)) >= _idle_limit():
        return None
    staff = _live_account(data)
    if staff is None:
        session.pop(_KEY, None)
    return staff


def staff_required(*roles: str):
    """Only a fully signed-in staff member; with ``roles``, one holding at least one of them.

    Anonymous (or half-signed-in) → redirect to ``/office/sign-in?next=…``; signed in without any of
    the roles → 403.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            staff = g.get("staff")
            if staff is None:
                next_url = request.full_path if request.method == "GET" else None
                return redirect(url_for("staff_auth.sign_in", next=next_url))
            if roles and not any(staff.has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    # Used bare (@staff_required) rather than called (@staff_required()).
    if len(roles) == 1 and callable(roles[0]):
        view, roles = roles[0], ()
        return decorator(view)
    return decorator
