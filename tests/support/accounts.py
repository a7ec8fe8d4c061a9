"""Residents: made in the database, and what a resident does in a browser, as functions over the test client."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.http import csrf_token

SESSION_COOKIE = "madoguchi_session"
PASSWORD = "correct horse battery"
LINK_RE = re.compile(r"http://madoguchi\.test(/account/[A-Za-z0-9/_.\-]+)")


def make_resident(db, email: str, locale: str = "ja"):
    """A confirmed resident with ``PASSWORD``, committed (other clients see it at once)."""
    from app.accounts.models import Resident
    from app.accounts.service import hash_password
    from app.db import utcnow

    resident = Resident(email=email, password_hash=hash_password(PASSWORD), locale=locale,
                        email_confirmed_at=utcnow())
    db.session.add(resident)
    db.session.commit()
    return resident


def sign_in_resident(client, email: str) -> None:
    """Sign a resident in over HTTP, as a person would; the sign-in must succeed."""
    response = sign_in(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def sign_up(client, address: str, password: str = PASSWORD, confirm: str | None = None):
    page = client.get("/account/sign-up")
    return client.post("/account/sign-up", data={
        "csrf_token": csrf_token(page), "email": address, "password": password,
        "password_confirm": password if confirm is None else confirm,
    })  # fmt: skip


def sign_in(client, address: str, password: str = PASSWORD, next_url: str | None = None, **kwargs):
    query = {"next": next_url} if next_url else {}
    page = client.get("/account/sign-in", query_string=query, **kwargs)
    return client.post(
        "/account/sign-in", query_string=query,
        data={"csrf_token": csrf_token(page), "email": address, "password": password}, **kwargs,
    )  # fmt: skip


def sign_out(client):
    page = client.get("/account/check-email/sign-up")  # any page: the token is the session's
    return client.post("/account/sign-out", data={"csrf_token": csrf_token(page)})


def request_reset(client, address: str, **kwargs):
    page = client.get("/account/reset", **kwargs)
    return client.post("/account/reset", data={"csrf_token": csrf_token(page), "email": address}, **kwargs)


def link_path(body: str) -> str:
    """The path of the (single) account link in a mail body or a page."""
    links = set(LINK_RE.findall(body))  # a page may show one link twice (its href and its text)
    assert len(links) == 1, f"expected one account link, found {links}"
    return links.pop()


def mail_body(message) -> str:
    return message.get_body(("plain",)).get_content()


def written_mail(app, to: str) -> list:
    """Messages the worker wrote into instance/mail/ (no SMTP_URL) for ``to``, oldest first."""
    folder = Path(app.config["INSTANCE_PATH"]) / "mail"
    paths = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]
    return [m for m in messages if m["To"] == to]


def location_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def session_cookie(client) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value
