"""Small helpers for tests that drive the app over HTTP."""

from __future__ import annotations

import re
import socket

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def free_port() -> int:
    """aiosmtpd's Controller(port=0) does not work, so servers are given a port chosen here."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def csrf_token(response) -> str:
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


RESIDENT_PASSWORD = "correct horse battery"


def make_resident(db, email: str, locale: str = "ja"):
    """A confirmed resident, committed (other clients see it at once)."""
    from app.accounts.models import Resident
    from app.accounts.service import hash_password
    from app.db import utcnow

    resident = Resident(email=email, password_hash=hash_password(RESIDENT_PASSWORD), locale=locale,
                        email_confirmed_at=utcnow())
    db.session.add(resident)
    db.session.commit()
    return resident


def sign_in(client, email: str) -> None:
    """Sign a resident in over HTTP, as a person would."""
    page = client.get("/account/sign-in")
    response = client.post("/account/sign-in", data={"csrf_token": csrf_token(page), "email": email,
                                                     "password": RESIDENT_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
