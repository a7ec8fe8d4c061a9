"""M4: the security event log. Failed passwords and codes, lock-outs, refused objects and CSRF failures
are rows of ``security_events`` (written on a connection of their own, so a refused, rolled-back
request still leaves its row) and JSON log lines with actor, address and outcome, never a secret (the
review: after ~70 failures of each kind, nothing but staff sign-ins was recorded)."""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa

from app.security_log import SecurityEvent
from tests.support import accounts as flows
from tests.support.accounts import make_resident, sign_in_resident
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_password

PASSWORD_TRIED = "a wrong password that must not appear"


def _events(db, event: str | None = None) -> list[SecurityEvent]:
    query = sa.select(SecurityEvent).order_by(SecurityEvent.id)
    if event:
        query = query.where(SecurityEvent.event == event)
    return list(db.session.scalars(query))


def test_m4_failed_sign_ins_and_codes_are_logged_with_ip_and_outcome_and_no_secret(client, db, caplog):
    make_resident(db, "hanako@example.jp")
    staff, _password, _secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk"])
    with caplog.at_level(logging.INFO, logger="madoguchi.security"):
        flows.sign_in(client, "hanako@example.jp", PASSWORD_TRIED, environ_base={"REMOTE_ADDR": "198.51.100.7"})
        sign_in_password(client, staff.email, PASSWORD_TRIED)
        sign_in_resident(client, "hanako@example.jp")
        flows.sign_out(client)
    rows = _events(db)
    assert [(e.event, e.outcome) for e in rows] == [
        ("resident.sign_in", "failure"), ("staff.password", "failure"),
        ("resident.sign_in", "success"), ("resident.sign_out", "success")]
    assert rows[0].ip == "198.51.100.7" and rows[0].actor_type == "anonymous" and rows[0].detail["email_hash"]
    assert rows[2].actor_type == "resident" and rows[2].actor_id is not None
    lines = [json.loads(record.getMessage()) for record in caplog.records]
    assert [(line["event"], line["outcome"]) for line in lines] == [(e.event, e.outcome) for e in rows]
    everything = json.dumps(lines, ensure_ascii=False) + repr([(e.detail, e.path) for e in rows])
    for secret in (PASSWORD_TRIED, "hanako@example.jp", "clerk@example.lg.jp", flows.PASSWORD):
        assert secret not in everything


def test_m4_a_refused_request_leaves_its_row_though_its_transaction_rolls_back(app, client, db):
    """A 403 rolls the request's transaction back (app.http); the event was not part of it."""
    staff, password, secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk"])
    from tests.support.staff import sign_in_staff

    sign_in_staff(client, staff.email, password, secret)
    assert client.get("/office/admin/staff").status_code == 403
    [denied] = _events(db, "access")
    assert denied.outcome == "denied" and denied.actor_id == staff.id and denied.path == "/office/admin/staff"


def test_m4_csrf_failures_and_someone_elses_objects_are_logged(app, client, db, catalogue):
    from app.demo.answers import fill

    owner = make_resident(db, "hanako@example.jp")
    make_resident(db, "taro@example.jp")
    submission = fill(owner, "juminhyo")
    db.session.commit()
    sign_in_resident(client, "taro@example.jp")
    assert client.get(f"/drafts/{submission.id}/check").status_code == 404
    assert client.post("/account/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert client.post(f"/drafts/{submission.id}/discard", data={}).status_code in (302, 400)
    access = _events(db, "access")
    assert access and access[0].detail == {"object": "submission", "object_id": submission.id}
    assert _events(db, "csrf")


def test_m4_a_lock_out_is_logged(client, db):
    for attempt in range(11):
        response = flows.sign_in(client, f"guess{attempt}@example.jp", "wrong password")
    assert response.status_code == 429
    [lock] = _events(db, "rate_limit")
    assert lock.outcome == "locked" and lock.detail["limit"] == "10 per 1 minute"
    assert len(_events(db, "resident.sign_in")) == 10
    page = client.get("/account/sign-in")
    assert csrf_token(page)
