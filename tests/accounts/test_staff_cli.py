"""``flask staff …`` and the demo staff."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.accounts.models import Staff
from app.accounts.staff_service import totp_secret
from app.demo.staff import DEMO_STAFF, DEMO_STAFF_PASSWORD, seed_demo_staff
from app.jobs.worker import run_due
from tests.support.accounts import mail_body, written_mail
from tests.support.http import csrf_token
from tests.support.staff import ensure_offices, make_staff, next_code, sign_in_password, sign_in_staff, submit_code


def run_worker_once(app) -> None:
    from app.extensions import db

    db.session.commit()
    with app.app_context():
        run_due()


def _fields(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.strip().splitlines() if ": " in line)


def test_m5_staff_create_mails_a_single_use_enrolment_link(runner, client, app, db):
    """Nobody but the member knows their password or secret: the link sets both (no TOFU by an admin)."""
    ensure_offices(db)
    make_staff(db, "first-admin@example.lg.jp", "shimin", ["admin"])
    result = runner.invoke(args=[
        "staff", "create", "--email", "Suzuki@City.Example.lg.jp", "--name", "鈴木 一郎", "--office", "shimin",
        "--role", "clerk", "--role", "approver",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    fields = _fields(result.output)
    assert fields["email"] == "suzuki@city.example.lg.jp"
    assert fields["roles"] == "clerk"  # approver waits for an administrator's confirmation
    assert fields["pending roles"].startswith("approver")
    assert "password" not in result.output.replace("passwords", "")
    link = fields["enrolment link (development only)"]
    run_worker_once(app)
    [mail] = written_mail(app, "suzuki@city.example.lg.jp")
    assert link in mail_body(mail)

    staff = db.session.scalar(sa.select(Staff).where(Staff.email == "suzuki@city.example.lg.jp"))
    assert staff.password_set_at is None and not staff.is_enrolled
    path = urlsplit(link).path
    set_password = client.post(path, data={"csrf_token": csrf_token(client.get(path)),
                                           "password": "a new member's own passphrase",
                                           "password_confirm": "a new member's own passphrase"})
    assert set_password.status_code == 302 and set_password.headers["Location"].startswith("/office/enrol")
    db.session.expire_all()
    secret = totp_secret(db.session.get(Staff, staff.id))
    enrolled = submit_code(client, set_password.headers["Location"], next_code(staff.email, secret))
    assert enrolled.status_code == 302 and client.get("/office/session").get_json()["signed_in"]
    assert client.get(path).status_code == 400  # used up
    other = app.test_client()
    assert sign_in_password(other, staff.email, "a new member's own passphrase").status_code == 302


def test_staff_create_with_password_and_enrolled_in_development(runner, client, db):
    ensure_offices(db)
    result = runner.invoke(args=[
        "staff", "create", "--email", "a@example.lg.jp", "--name", "A", "--office", "zeimu", "--role", "admin",
        "--password", "a chosen long password", "--enrolled",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    fields = _fields(result.output)
    assert fields["password (development only)"] == "a chosen long password"
    assert fields["roles"] == "admin"  # the first administrator: nobody could confirm them
    response = sign_in_password(client, "a@example.lg.jp", "a chosen long password")
    assert response.headers["Location"].startswith("/office/sign-in/code")


def test_m5_production_refuses_set_passwords_and_prints_no_secrets(runner, app, db, monkeypatch):
    ensure_offices(db)
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    base = ["staff", "create", "--email", "p@example.lg.jp", "--name", "P", "--office", "shimin", "--role", "clerk"]
    for extra in (["--password", "a chosen long password"], ["--enrolled"]):
        refused = runner.invoke(args=base + extra)
        assert refused.exit_code == 1 and "refused in production" in refused.output
    created = runner.invoke(args=base)
    assert created.exit_code == 0, created.output
    assert "enrolment link sent to p@example.lg.jp" in created.output
    assert "http" not in created.output and "secret" not in created.output


def test_h3_staff_designate_sets_and_clears_the_my_number_handler(runner, db):
    from app.audit.models import AuditEvent

    staff, _password, _secret = make_staff(db, "h@example.lg.jp", "shimin", ["clerk"])
    assert runner.invoke(args=["staff", "designate", "H@example.lg.jp", "--mynumber-handler", "on"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Staff, staff.id).mynumber_handler
    assert "clerk,mynumber" in runner.invoke(args=["staff", "list"]).output
    assert runner.invoke(args=["staff", "designate", "h@example.lg.jp", "--mynumber-handler", "off"]).exit_code == 0
    db.session.expire_all()
    assert not db.session.get(Staff, staff.id).mynumber_handler
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "staff.mynumber_handler")).all()
    assert [e.data["on"] for e in events] == [True, False] and all(e.subject_id == staff.id for e in events)
    assert runner.invoke(args=["staff", "designate", "nobody@example.lg.jp", "--mynumber-handler", "on"]).exit_code == 1


@pytest.mark.parametrize("args, message", [
    (["--office", "nowhere", "--role", "clerk"], "課の指定が正しくありません"),
    (["--office", "shimin", "--role", "clerk", "--password", "short"], "パスワードは10文字以上"),
    (["--office", "shimin", "--role", "clerk", "--email", "not-an-address"], "error:"),
])  # fmt: skip
def test_staff_create_refuses_bad_input(runner, db, args, message):
    ensure_offices(db)
    base = ["staff", "create", "--name", "X"]
    if "--email" not in args:
        base += ["--email", "x@example.lg.jp"]
    result = runner.invoke(args=base + args)
    assert result.exit_code == 1
    assert message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 0


def test_staff_create_refuses_an_unknown_role_and_a_taken_address(runner, db):
    make_staff(db, "x@example.lg.jp", "shimin", ["clerk"])
    args = ["staff", "create", "--email", "X@example.lg.jp", "--name", "X", "--office", "shimin"]
    assert runner.invoke(args=args + ["--role", "boss"]).exit_code == 2
    result = runner.invoke(args=args + ["--role", "clerk"])
    assert result.exit_code == 1
    assert "既に登録されています" in result.output


def test_staff_list_and_deactivate(runner, db):
    make_staff(db, "b@example.lg.jp", "zeimu", ["approver"], name="B")
    make_staff(db, "a@example.lg.jp", "shimin", ["clerk", "counter_clerk"], name="A")
    result = runner.invoke(args=["staff", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "a@example.lg.jp\tshimin\tclerk,counter_clerk\tactive\tA",
        "b@example.lg.jp\tzeimu\tapprover\tactive\tB",
    ]
    assert runner.invoke(args=["staff", "deactivate", "B@example.lg.jp"]).exit_code == 0
    assert "b@example.lg.jp\tzeimu\tapprover\tinactive\tB" in runner.invoke(args=["staff", "list"]).output
    assert runner.invoke(args=["staff", "reactivate", "b@example.lg.jp"]).exit_code == 0
    assert runner.invoke(args=["staff", "deactivate", "nobody@example.lg.jp"]).exit_code == 1


def test_demo_staff_are_idempotent_and_sign_in_with_their_fixed_secrets(client, db):
    ensure_offices(db)
    lines = seed_demo_staff()
    db.session.commit()
    assert seed_demo_staff() == lines  # the second run adds nothing and prints the same
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == len(DEMO_STAFF)
    text = "\n".join(lines)
    for email, _name, office, roles, secret in DEMO_STAFF:
        assert f"{email}\t{office}\t{','.join(roles)}\tpassword: {DEMO_STAFF_PASSWORD}\tTOTP secret: {secret}" in text

    offices_roles = {(office, role) for _e, _n, office, roles, _s in DEMO_STAFF for role in roles}
    for needed in [("shimin", "clerk"), ("shimin", "approver"), ("zeimu", "approver"), ("fukushi", "approver"),
                   ("shimin", "counter_clerk")]:  # fmt: skip
        assert needed in offices_roles
    assert sum(1 for _e, _n, office, roles, _s in DEMO_STAFF if office == "shimin" and "clerk" in roles) >= 2

    admin = next(entry for entry in DEMO_STAFF if "admin" in entry[3])
    sign_in_staff(client, admin[0], DEMO_STAFF_PASSWORD, admin[4])
    assert client.get("/office/admin/staff").status_code == 200
