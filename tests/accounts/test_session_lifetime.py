"""M3: a resident's session ends RESIDENT_ABSOLUTE_HOURS after sign-in however active, and lives in a
session cookie (the review: no absolute limit, a 31-day persistent cookie)."""

from __future__ import annotations

import time as real_time
import types

from app.accounts import session as resident_session
from tests.support import accounts as flows


def test_m3_the_resident_cookie_is_a_session_cookie(client, confirmed_resident):
    response = flows.sign_in(client, confirmed_resident)
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith(flows.SESSION_COOKIE))
    assert "Expires=" not in cookie and "Max-Age=" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie


def test_m3_an_active_session_still_ends_after_the_absolute_limit(app, client, confirmed_resident, monkeypatch):
    monkeypatch.setitem(app.config, "RESIDENT_IDLE_MINUTES", 24 * 60)  # never idle here: only the absolute limit
    offset = [0.0]
    monkeypatch.setattr(resident_session, "time", types.SimpleNamespace(time=lambda: real_time.time() + offset[0]))
    flows.sign_in_resident(client, confirmed_resident)
    for hours in (1, 6, 11.9):
        offset[0] = hours * 3600
        assert client.get("/account").status_code == 200, hours
    offset[0] = 12 * 3600 + 1
    response = client.get("/account")
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
