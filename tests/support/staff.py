"""Staff accounts for tests: create one, and sign it in over HTTP (password, then the TOTP code).

    from tests.support.staff import make_staff, sign_in_staff

    def test_something(db, client):
        clerk, password, secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk"])
        sign_in_staff(client, clerk.email, password, secret)
        assert client.get("/office/").status_code == 200

A code is accepted once per 30-second step and ±1 step is allowed, so ``sign_in_staff`` picks the
earliest step the server will still take: up to three sign-ins of one account within 30 seconds
work. For more, monkeypatch ``app.accounts.staff_service._now``.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pyotp
import sqlalchemy as sa

from app.accounts import staff_service
from app.accounts.models import Office, Staff
from tests.support.catalogue import sync_built_in
from tests.support.http import csrf_token

STAFF_PASSWORD = "staff password for tests"


def ensure_offices(db) -> None:
    """The built-in offices (shimin, zeimu, fukushi, kodomo) and forms, loaded once per test."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Office)) == 0:
        sync_built_in(db)


def make_staff(
    db,
    email: str,
    office_code: str,
    roles,
    *,
    password: str | None = STAFF_PASSWORD,
    enrolled: bool = True,
    name: str | None = None,
) -> tuple[Staff, str, str]:
    """A committed staff account; returns ``(staff, password, totp_secret)``.

    ``enrolled=False`` leaves the authenticator unconfirmed, so the first sign-in goes to /office/enrol.
    ``password=None`` leaves the account without one (the member sets it with the enrolment link). The
    roles take effect at once (as the demo's do): the four-eyes confirmation is tested on its own.
    """
    ensure_offices(db)
    staff, password, secret = staff_service.create_staff(
        email, name or email.partition("@")[0], office_code, list(roles), password, enrolled=enrolled,
        grant_privileged=True,
    )
    db.session.commit()
    return staff, password, secret


def totp_code(secret: str, step: int | None = None) -> str:
    """The code for ``step`` (default: now)."""
    totp = pyotp.TOTP(secret)
    if step is None:
        step = int(time.time()) // staff_service.TOTP_INTERVAL
    return totp.generate_otp(step)


def next_code(email: str, secret: str) -> str:
    """The code of the earliest step the server still accepts for this account (see the module doc)."""
    from app.extensions import db

    current = int(staff_service._now()) // staff_service.TOTP_INTERVAL
    last = db.session.scalar(sa.select(Staff.last_totp_step).where(Staff.email == email.lower()))
    db.session.commit()  # end the read transaction: the next request's writes must be seen
    step = current - staff_service.TOTP_VALID_WINDOW
    if last is not None:
        step = max(step, last + 1)
    assert step <= current + staff_service.TOTP_VALID_WINDOW, (
        "no unused TOTP step left for this account; monkeypatch app.accounts.staff_service._now"
    )
    return totp_code(secret, step)


def sign_in_password(client, email: str, password: str, next_url: str | None = None):
    """Step 1: the password form. Returns the response (302 to the code or enrolment page if right)."""
    query = {"next": next_url} if next_url else {}
    page = client.get("/office/sign-in", query_string=query)
    return client.post(
        "/office/sign-in",
        query_string=query,
        data={"csrf_token": csrf_token(page), "email": email, "password": password},
    )


def submit_code(client, path: str, code: str):
    """Step 2: the code form at ``path`` (``/office/sign-in/code?...`` or ``/office/enrol?...``)."""
    page = client.get(path)
    assert page.status_code == 200, f"{path}: {page.status_code}"
    return client.post(path, data={"csrf_token": csrf_token(page), "code": code})


def sign_in_staff(client, email: str, password: str, secret: str, next_url: str | None = None):
    """The whole sign-in over HTTP, enrolment included if needed; returns the final response (a 302)."""
    response = sign_in_password(client, email, password, next_url)
    assert response.status_code == 302, f"password step refused: {response.status_code}"
    location = response.headers["Location"]
    path = urlsplit(location).path
    assert path in ("/office/sign-in/code", "/office/enrol"), location
    response = submit_code(client, location, next_code(email, secret))
    if response.status_code == 422:
        # The earliest step still accepted can leave the window between choosing it here and the server's
        # check (a server in another process, at a 30-second boundary): choose again, once.
        response = submit_code(client, location, next_code(email, secret))
    assert response.status_code == 302, f"code step refused: {response.status_code}"
    return response


def sign_out_staff(client):
    page = client.get("/")  # any page with a form: the CSRF token is the session's
    return client.post("/office/sign-out", data={"csrf_token": csrf_token(page)})
