"""Staff sign-in over HTTP: password, then a TOTP code; enrolment; who reaches the admin page;
replay; deactivation, idle and absolute limits; the staff and resident sessions are independent."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.accounts.models import Resident, Staff
from app.accounts.service import hash_password
from app.db import utcnow
from tests.support import accounts as flows
from tests.support.http import csrf_token
from tests.support.staff import (
    make_staff,
    next_code,
    sign_in_password,
    sign_in_staff,
    sign_out_staff,
    submit_code,
    totp_code,
)

ADMIN = "admin@example.lg.jp"
CLERK = "clerk@example.lg.jp"
ADMIN_PAGE = "/office/admin/staff"
FAILED = "メールアドレスまたはパスワードが正しくありません"
BAD_CODE = "確認コードが正しくないか、有効期限が切れています"


def signed_in(client) -> bool:
    return client.get("/office/session").get_json()["signed_in"]


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def test_password_then_code_signs_in(client, db):
    _staff, password, secret = make_staff(db, "Admin@Example.lg.jp", "shimin", ["admin"])

    response = sign_in_password(client, "ＡＤＭＩＮ＠example.lg.jp ", password)  # IME width, padding
    assert response.status_code == 302
    assert path_of(response) == "/office/sign-in/code"

    # Half signed in: the password alone grants nothing.
    assert not signed_in(client)
    assert client.get(ADMIN_PAGE).status_code == 302

    response = submit_code(client, response.headers["Location"], next_code(ADMIN, secret))
    assert response.status_code == 302
    assert response.headers["Location"] == "/office/"
    assert signed_in(client)
    page = client.get(ADMIN_PAGE)
    assert page.status_code == 200
    assert "admin" in page.get_data(as_text=True)

    staff = db.session.scalar(sa.select(Staff).where(Staff.email == ADMIN))
    assert staff.last_second_factor_at is not None
    assert abs((utcnow() - staff.last_second_factor_at).total_seconds()) < 60
    assert staff.last_totp_step is not None


@pytest.mark.parametrize("who, status", [("anonymous", 302), ("clerk", 403), ("approver", 403), ("admin", 200)])
def test_admin_page_is_for_admins_only(client, db, who, status):
    if who != "anonymous":
        _staff, password, secret = make_staff(db, f"{who}@example.lg.jp", "shimin", [who])
        sign_in_staff(client, f"{who}@example.lg.jp", password, secret)
    response = client.get(ADMIN_PAGE)
    assert response.status_code == status
    if who == "anonymous":
        assert path_of(response) == "/office/sign-in"
    if status == 403:
        assert "このページを表示する権限がありません" in response.get_data(as_text=True)


def test_anonymous_is_sent_back_where_they_were_going(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    response = client.get(ADMIN_PAGE + "?tab=1")
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert next_url == ADMIN_PAGE + "?tab=1"
    response = sign_in_staff(client, ADMIN, password, secret, next_url=next_url)
    assert response.headers["Location"] == ADMIN_PAGE + "?tab=1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_next_never_leaves_the_site(client, db, target):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    response = sign_in_staff(client, ADMIN, password, secret, next_url=target)
    assert response.headers["Location"] == "/office/"


def test_wrong_password_unknown_address_and_deactivated_account_read_the_same(client, db):
    make_staff(db, ADMIN, "shimin", ["admin"])
    _staff, password, _secret = make_staff(db, CLERK, "shimin", ["clerk"])
    clerk = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
    clerk.is_active = False
    db.session.commit()

    def body(response, address):
        html = re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))
        return html.replace(address, "ADDRESS")

    wrong = sign_in_password(client, ADMIN, "not the password at all")
    unknown = sign_in_password(client, "nobody@example.lg.jp", "not the password at all")
    inactive = sign_in_password(client, CLERK, password)
    assert wrong.status_code == unknown.status_code == inactive.status_code == 422
    assert FAILED in wrong.get_data(as_text=True)
    assert body(wrong, ADMIN) == body(unknown, "nobody@example.lg.jp") == body(inactive, CLERK)
    assert not signed_in(client)


def test_wrong_and_malformed_codes_are_refused(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    location = sign_in_password(client, ADMIN, password).headers["Location"]

    right = next_code(ADMIN, secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = submit_code(client, location, wrong)
    assert response.status_code == 422
    assert BAD_CODE in response.get_data(as_text=True)
    assert not signed_in(client)

    response = submit_code(client, location, "12ab56")
    assert response.status_code == 422
    assert "6桁の数字" in response.get_data(as_text=True)

    response = submit_code(client, location, "")
    assert response.status_code == 422
    assert "確認コードを入力してください。" in response.get_data(as_text=True)
    assert 'href="#code"' in response.get_data(as_text=True)

    # A code from two steps ago is outside the window.
    stale = totp_code(secret, int(time.time()) // 30 - 3)
    if stale != right:
        assert submit_code(client, location, stale).status_code == 422

    # Full-width digits with a space, as an IME may type them, are the same code.
    typed = right.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = submit_code(client, location, typed[:3] + " " + typed[3:])
    assert response.status_code == 302
    assert signed_in(client)


def test_a_code_is_accepted_once(client, app, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    code = next_code(ADMIN, secret)
    location = sign_in_password(client, ADMIN, password).headers["Location"]
    assert submit_code(client, location, code).status_code == 302
    assert sign_out_staff(client).status_code == 302
    assert not signed_in(client)

    # Someone who saw the code (and knows the password) tries it within the same 30 seconds.
    other = app.test_client()
    location = sign_in_password(other, ADMIN, password).headers["Location"]
    response = submit_code(other, location, code)
    assert response.status_code == 422
    assert BAD_CODE in response.get_data(as_text=True)
    assert not signed_in(other)
    # A fresh code still works.
    assert submit_code(other, location, next_code(ADMIN, secret)).status_code == 302


def test_the_code_page_needs_the_password_first(client, db):
    make_staff(db, ADMIN, "shimin", ["admin"])
    response = client.get("/office/sign-in/code")
    assert response.status_code == 302
    assert path_of(response) == "/office/sign-in"
    assert client.get("/office/enrol").status_code == 302


def test_first_sign_in_enrols_the_authenticator(client, db):
    _staff, password, secret = make_staff(db, CLERK, "shimin", ["clerk"], enrolled=False)
    response = sign_in_password(client, CLERK, password)
    assert path_of(response) == "/office/enrol"
    assert path_of(client.get("/office/sign-in/code")) == "/office/enrol"

    page = client.get("/office/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<svg role="img"' in html and "<title>" in html  # the QR code, inline
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert grouped in html
    assert not signed_in(client)

    response = submit_code(client, "/office/enrol", "000000" if totp_code(secret) != "000000" else "111111")
    assert response.status_code == 422
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
    assert staff.totp_enrolled_at is None

    response = submit_code(client, "/office/enrol", next_code(CLERK, secret))
    assert response.status_code == 302
    assert signed_in(client)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Staff.totp_enrolled_at).where(Staff.email == CLERK)) is not None

    # From now on the password leads to the code page, and the enrolment page is closed.
    sign_out_staff(client)
    response = sign_in_password(client, CLERK, password)
    assert path_of(response) == "/office/sign-in/code"
    assert path_of(client.get("/office/enrol")) == "/office/sign-in/code"


def test_deactivation_ends_an_active_session_on_the_next_request(app, db):
    _admin, admin_password, admin_secret = make_staff(db, ADMIN, "shimin", ["admin"])
    _clerk, clerk_password, clerk_secret = make_staff(db, CLERK, "shimin", ["clerk"])
    admin_client, clerk_client = app.test_client(), app.test_client()
    sign_in_staff(admin_client, ADMIN, admin_password, admin_secret)
    sign_in_staff(clerk_client, CLERK, clerk_password, clerk_secret)
    assert signed_in(clerk_client)

    clerk_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == CLERK))
    page = admin_client.get(ADMIN_PAGE)
    response = admin_client.post(f"/office/admin/staff/{clerk_id}/deactivate", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302

    assert not signed_in(clerk_client)
    assert clerk_client.get(ADMIN_PAGE).status_code == 302  # anonymous now, not 403
    assert sign_in_password(clerk_client, CLERK, clerk_password).status_code == 422
    assert signed_in(admin_client)


def test_idle_session_ends(client, app, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    sign_in_staff(client, ADMIN, password, secret)
    limit = app.config["STAFF_IDLE_MINUTES"] * 60
    assert limit == 15 * 60

    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": int(time.time()) - limit + 60}
    assert client.get(ADMIN_PAGE).status_code == 200  # 14 minutes idle: still there, and refreshed

    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": int(time.time()) - limit - 1}
    response = client.get(ADMIN_PAGE)
    assert response.status_code == 302
    assert path_of(response) == "/office/sign-in"
    assert not signed_in(client)


def test_idle_session_explains_itself(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    sign_in_staff(client, ADMIN, password, secret)
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": 0}
    page = client.get("/office/sign-in")
    assert "安全のため、サインインを終了しました。" in page.get_data(as_text=True)


def test_session_ends_after_a_working_day_even_when_busy(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    sign_in_staff(client, ADMIN, password, secret)
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "since": int(time.time()) - 12 * 3600 - 1}
    assert not signed_in(client)


def test_pending_sign_in_idles_out_too(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    location = sign_in_password(client, ADMIN, password).headers["Location"]
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": 0}
    response = client.get(location)
    assert path_of(response) == "/office/sign-in"


def test_status_check_does_not_count_as_activity(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    sign_in_staff(client, ADMIN, password, secret)
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": int(time.time()) - 600}
    status = client.get("/office/session").get_json()
    assert status["signed_in"] and 200 < status["seconds_left"] <= 300
    assert client.get("/office/session").get_json()["seconds_left"] <= 300

    page = client.get("/office/admin/staff")
    assert 'id="session-warning"' in page.get_data(as_text=True)
    assert client.get("/office/session").get_json()["seconds_left"] > 800


def test_sign_out_kills_every_copy_of_the_cookie(client, app, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    sign_in_staff(client, ADMIN, password, secret)
    stolen = flows.session_cookie(client)
    assert sign_out_staff(client).status_code == 302
    assert not signed_in(client)

    thief = app.test_client()
    thief.set_cookie(flows.SESSION_COOKIE, stolen)
    assert thief.get(ADMIN_PAGE).status_code == 302


def test_sign_out_needs_a_csrf_token(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    sign_in_staff(client, ADMIN, password, secret)
    assert client.post("/office/sign-out").status_code == 400
    assert signed_in(client)


def _resident(db, address: str = "hanako@example.jp") -> str:
    db.session.add(Resident(email=address, password_hash=hash_password(flows.PASSWORD), locale="ja",
                            email_confirmed_at=utcnow()))  # fmt: skip
    db.session.commit()
    return address


def test_resident_and_staff_sessions_are_independent(client, db):
    resident = _resident(db)
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])

    # Staff first, then the resident signs in (a fresh resident session must keep the staff one).
    sign_in_staff(client, ADMIN, password, secret)
    assert flows.sign_in(client, resident).status_code == 302
    assert client.get("/account").status_code == 200
    assert signed_in(client)

    # The resident signs out: the staff member is still signed in.
    assert flows.sign_out(client).status_code == 302
    assert client.get("/account").status_code == 302
    assert signed_in(client)
    assert client.get(ADMIN_PAGE).status_code == 200

    # The other way round: signing out of the office leaves the resident signed in.
    assert flows.sign_in(client, resident).status_code == 302
    assert sign_out_staff(client).status_code == 302
    assert not signed_in(client)
    assert client.get("/account").status_code == 200


def test_a_resident_is_not_staff(client, db):
    resident = _resident(db)
    make_staff(db, ADMIN, "shimin", ["admin"])
    flows.sign_in(client, resident)
    assert client.get(ADMIN_PAGE).status_code == 302
    # …and a resident's password is no staff password.
    assert sign_in_password(client, resident, flows.PASSWORD).status_code == 422


def test_password_guessing_is_throttled(client, db):
    make_staff(db, ADMIN, "shimin", ["admin"])
    codes = [sign_in_password(client, ADMIN, f"wrong password {i}").status_code for i in range(11)]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429


def test_code_guessing_is_throttled(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"])
    location = sign_in_password(client, ADMIN, password).headers["Location"]
    right = {totp_code(secret, int(time.time()) // 30 + offset) for offset in (-1, 0, 1, 2)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in right)
    page = client.get(location)
    token = csrf_token(page)
    codes = [client.post(location, data={"csrf_token": token, "code": wrong}).status_code for _ in range(11)]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429
    assert not signed_in(client)


def test_l1_staff_sign_in_gives_a_new_csrf_token(client, db):
    """The review: the token was identical before and after a full staff sign-in (fixation)."""
    staff, password, secret = make_staff(db, CLERK, "shimin", ["clerk"])
    before = csrf_token(client.get("/office/sign-in"))
    sign_in_staff(client, CLERK, password, secret)
    after = csrf_token(client.get("/office/"))
    assert before != after
    # The old token is worth nothing now.
    refused = client.post("/office/sign-out", data={"csrf_token": before})
    assert refused.status_code == 400 and signed_in(client)
