"""Response headers for every kind of page (ASVS 3.4, 14.3; review L2, L7, M3): HTML pages, file
downloads, JSON, the verification pages; and HSTS in production."""

from __future__ import annotations

import pytest

from app.submissions.models import Submission
from tests.support.accounts import sign_in_resident

CSP_DIRECTIVES = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'")


def _common(response, referrer_policy: str = "same-origin") -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == referrer_policy
    for directive in CSP_DIRECTIVES:
        assert directive in headers["Content-Security-Policy"], directive
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


@pytest.fixture
def approved_case(app, db, approve_case):
    return approve_case("juminhyo")


def test_html_pages(client):
    for path in ("/", "/account/sign-in", "/office/sign-in"):
        response = client.get(path)
        assert response.mimetype == "text/html"
        _common(response)
    assert client.get("/account/sign-in").headers["Cache-Control"] == "no-store"
    assert client.get("/office/sign-in").headers["Cache-Control"] == "no-store"


def test_json_and_verify_pages_are_not_cached(client, db):
    for path in ("/healthz", "/api/v1/", "/api/v1/verify?code=0000000000000000", "/verify",
                 "/verify/0000-0000-0000-0000"):
        response = client.get(path)
        # A verification answer may show what the document says: its address (the code) is never sent on.
        _common(response, "no-referrer" if "verify" in path else "same-origin")
        assert response.headers["Cache-Control"] == "no-store", path


def test_downloads_of_personal_data_are_never_stored(app, db, approved_case):
    owner = db.session.get(Submission, approved_case.id).resident
    client = app.test_client()
    sign_in_resident(client, owner.email)
    response = client.get(f"/submissions/{approved_case.id}/documents/notice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    _common(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers and "Last-Modified" not in response.headers
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_public_crls_may_be_cached(client, db, pki):
    response = client.get("/pki/crl.der")
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    _common(response)


def test_hsts_is_productions_only(client):
    """Development serves plain http on loopback; production's header: tests/test_config.py (M3)."""
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
