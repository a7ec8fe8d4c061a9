"""M5: staff change their own password (ASVS 6.2.2/6.2.3); their other sessions end."""

from __future__ import annotations

import sqlalchemy as sa

from app.security_log import SecurityEvent
from tests.support.http import csrf_token
from tests.support.staff import STAFF_PASSWORD, make_staff, sign_in_password, sign_in_staff

PAGE = "/office/account/password"
NEW = "a brand new staff passphrase"


def test_m5_a_member_changes_their_own_password(app, db):
    staff, password, secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk"])
    here, elsewhere = app.test_client(), app.test_client()
    sign_in_staff(here, staff.email, password, secret)
    sign_in_staff(elsewhere, staff.email, password, secret)

    page = here.get(PAGE)
    wrong = here.post(PAGE, data={"csrf_token": csrf_token(page), "current_password": "not my password at all",
                                  "password": NEW, "password_confirm": NEW})
    assert wrong.status_code == 422 and "現在のパスワードが正しくありません" in wrong.get_data(as_text=True)
    weak = here.post(PAGE, data={"csrf_token": csrf_token(page), "current_password": STAFF_PASSWORD,
                                 "password": "password1!", "password_confirm": "password1!"})
    assert weak.status_code == 422 and "推測されやすい" in weak.get_data(as_text=True)

    changed = here.post(PAGE, data={"csrf_token": csrf_token(page), "current_password": STAFF_PASSWORD,
                                    "password": NEW, "password_confirm": NEW})
    assert changed.status_code == 302
    assert here.get("/office/session").get_json()["signed_in"]  # this session goes on
    assert not elsewhere.get("/office/session").get_json()["signed_in"]  # the others end
    assert sign_in_password(app.test_client(), staff.email, STAFF_PASSWORD).status_code == 422
    assert sign_in_password(app.test_client(), staff.email, NEW).status_code == 302
    events = db.session.scalars(sa.select(SecurityEvent.event, ).where(SecurityEvent.actor_id == staff.id)).all()
    assert "staff.password_change" in events and "staff.password" in events
