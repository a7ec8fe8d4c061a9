"""Sign-in failures, enumeration, open redirects, CSRF and rate limits."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.support import accounts as flows
from tests.support.http import csrf_token

FAILED = "メールアドレスまたはパスワードが正しくありません"


def _without_tokens(html: str, address: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html).replace(address, "ADDRESS")


def test_wrong_password_and_unknown_address_read_the_same(client, confirmed_resident):
    wrong = flows.sign_in(client, confirmed_resident, "wrong password here")
    unknown = flows.sign_in(client, "nobody@example.jp", "wrong password here")
    assert wrong.status_code == unknown.status_code == 422
    assert FAILED in wrong.get_data(as_text=True)
    assert _without_tokens(wrong.get_data(as_text=True), confirmed_resident) == _without_tokens(
        unknown.get_data(as_text=True), "nobody@example.jp"
    )
    assert client.get("/account").status_code == 302


def test_empty_form_is_explained_field_by_field(client):
    page = client.get("/account/sign-in")
    response = client.post("/account/sign-in", data={"csrf_token": csrf_token(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "メールアドレスを入力してください。" in html and "パスワードを入力してください。" in html
    assert 'href="#email"' in html and 'href="#password"' in html
    assert " required" not in html  # no browser bubbles: the error summary speaks


def test_sign_in_accepts_full_width_and_padded_address(client, confirmed_resident):
    response = flows.sign_in(client, "\u3000ＨＡＮＡＫＯ＠ｅｘａｍｐｌｅ．ｊｐ ")
    assert response.status_code == 302


def test_sign_in_starts_a_fresh_session(client, confirmed_resident):
    client.get("/account/sign-in")
    before = flows.session_cookie(client)
    flows.sign_in(client, confirmed_resident)
    assert flows.session_cookie(client) != before


def test_next_is_honoured_for_a_local_path(client, confirmed_resident):
    response = flows.sign_in(client, confirmed_resident, next_url="/account?tab=1")
    assert response.headers["Location"] == "/account?tab=1"


@pytest.mark.parametrize("target", [
    "https://evil.example/",
    "//evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "/\\evil.example",
    "/\tevil.example",
])  # fmt: skip
def test_next_never_leaves_the_site(client, confirmed_resident, target):
    response = flows.sign_in(client, confirmed_resident, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/submissions"


def test_post_without_csrf_token_is_refused(client, confirmed_resident):
    response = client.post("/account/sign-in", data={"email": confirmed_resident, "password": flows.PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302

    flows.sign_in(client, confirmed_resident)
    assert client.post("/account/sign-out").status_code == 400
    assert client.get("/account").status_code == 200  # still signed in


def test_sign_out_is_post_only(client, confirmed_resident):
    flows.sign_in(client, confirmed_resident)
    assert client.get("/account/sign-out").status_code == 405
    assert client.get("/account").status_code == 200


def test_sign_in_is_limited_per_ip(client, confirmed_resident):
    for attempt in range(10):
        assert flows.sign_in(client, f"guess{attempt}@example.jp", "wrong password").status_code == 422
    limited = flows.sign_in(client, confirmed_resident)
    assert limited.status_code == 429
    assert "しばらく受け付けを止めています" in limited.get_data(as_text=True)
    # Another address from another IP is unaffected.
    other = flows.sign_in(client, confirmed_resident, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 302


def test_m6_strangers_cannot_lock_the_owner_out(client, db, confirmed_resident):
    """The review's reproduction: 20 wrong passwords for one address, then its owner's right one (was 429)."""
    from app.security_log import SecurityEvent

    for attempt in range(20):
        ip = {"REMOTE_ADDR": f"198.51.100.{attempt + 1}"}
        assert flows.sign_in(client, confirmed_resident, "wrong password", environ_base=ip).status_code == 422
    owner = flows.sign_in(client, confirmed_resident.upper(), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert owner.status_code == 302  # no hard lock on the address alone
    # The attack is visible: twenty failures on one address (hashed), from twenty addresses.
    failures = db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.event == "resident.sign_in",
                                                                 SecurityEvent.outcome == "failure")).all()
    assert len(failures) == 20 and len({e.detail["email_hash"] for e in failures}) == 1
    assert len({e.ip for e in failures}) == 20


def test_m6_one_client_guessing_one_address_is_slowed_down(client, confirmed_resident, monkeypatch):
    """Per address *and* client: 20 an hour. Minutes pass between bursts, so the per-IP limit (10 a
    minute) does not stop it first; the counters' clock is moved, not the test's."""
    import time as real_time

    from app import rate_limits

    offset = [0.0]
    monkeypatch.setattr(rate_limits, "time", type("Clock", (), {"time": staticmethod(
        lambda: real_time.time() + offset[0])}))
    ip = {"REMOTE_ADDR": "198.51.100.77"}
    answers = []
    for burst in range(3):
        offset[0] = burst * 61
        for _ in range(8):
            answers.append(flows.sign_in(client, confirmed_resident, "wrong password", environ_base=ip).status_code)
    assert answers[:20] == [422] * 20 and answers[20:] == [429] * 4
    # The owner, elsewhere, is not held by it.
    assert flows.sign_in(client, confirmed_resident, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 302
