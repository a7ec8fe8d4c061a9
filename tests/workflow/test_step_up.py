"""M1: the step-up code at approval is limited and locked out per member, and every failure is a
security event (the review: 40 wrong codes in 2.3 s, all 403, none 429, nothing logged)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.db import utcnow
from app.security_log import SecurityEvent
from app.workflow.models import Approval
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff


def test_m1_wrong_step_up_codes_lock_the_member_out_and_are_logged(app, db, new_case):
    submission = new_case("juminhyo", "in_review")
    clerk, password, secret = make_staff(db, "suzuki@city.example.jp", "shimin", ["clerk"])
    client = app.test_client()
    sign_in_staff(client, clerk.email, password, secret)
    db.session.refresh(clerk)
    clerk.last_second_factor_at = utcnow() - dt.timedelta(minutes=30)  # the code is asked for again
    db.session.commit()
    case_url = f"/office/cases/{submission.id}"
    token = csrf_token(client.get(case_url))
    answers = [client.post(f"{case_url}/approve", data={"csrf_token": token, "code": f"{n:06d}"}).status_code
               for n in range(8)]
    assert answers == [403] * 5 + [429] * 3
    # An approval without a code asked for (the fresh-factor page) does not count against the member.
    assert client.post(f"{case_url}/approve", data={"csrf_token": token}).status_code == 429
    assert db.session.scalar(sa.select(Approval.state).where(Approval.submission_id == submission.id)) == "pending"

    events = db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.actor_id == clerk.id)).all()
    assert [e.outcome for e in events if e.event == "staff.step_up"] == ["failure"] * 5
    locks = [e for e in events if e.event == "rate_limit"]
    assert locks and all(e.outcome == "locked" and e.detail["endpoint"] == "office.approve" for e in locks)
    assert all(e.ip == "127.0.0.1" and e.path == f"{case_url}/approve" for e in events
               if e.event in ("staff.step_up", "rate_limit"))


def test_m1_a_member_without_the_lock_still_seals(app, db, new_case):
    submission = new_case("juminhyo", "in_review")
    locked, password, secret = make_staff(db, "locked@city.example.jp", "shimin", ["clerk"])
    other, other_password, other_secret = make_staff(db, "other@city.example.jp", "shimin", ["clerk"])
    client, second = app.test_client(), app.test_client()
    sign_in_staff(client, locked.email, password, secret)
    sign_in_staff(second, other.email, other_password, other_secret)
    db.session.refresh(locked)
    locked.last_second_factor_at = utcnow() - dt.timedelta(minutes=30)
    db.session.commit()
    case_url = f"/office/cases/{submission.id}"
    token = csrf_token(client.get(case_url))
    for n in range(6):
        client.post(f"{case_url}/approve", data={"csrf_token": token, "code": f"{n:06d}"})
    response = second.post(f"{case_url}/approve", data={"csrf_token": csrf_token(second.get(case_url))})
    assert response.status_code == 302
