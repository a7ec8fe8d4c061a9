"""``flask staff …`` and the demo staff."""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa

from app.accounts.models import Staff
from app.accounts.staff_service import totp_secret
from app.demo.staff import DEMO_STAFF, DEMO_STAFF_PASSWORD, seed_demo_staff
from tests.support.staff import ensure_offices, make_staff, sign_in_password, sign_in_staff


def _fields(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.strip().splitlines())


def test_staff_create_prints_password_and_secret_that_sign_in(runner, client, db):
    ensure_offices(db)
    result = runner.invoke(args=[
        "staff", "create", "--email", "Suzuki@City.Example.lg.jp", "--name", "鈴木 一郎", "--office", "shimin",
        "--role", "clerk", "--role", "approver",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    fields = _fields(result.output)
    assert fields["email"] == "suzuki@city.example.lg.jp"
    assert fields["office"] == "shimin"
    assert fields["roles"] == "clerk,approver"
    assert len(fields["password"]) >= 16
    secret = fields["totp_secret"]
    assert len(secret) == 32 and pyotp.TOTP(secret).now().isdigit()
    assert fields["totp_uri"].startswith("otpauth://totp/Madoguchi:suzuki%40city.example.lg.jp?secret=" + secret)

    staff = db.session.scalar(sa.select(Staff).where(Staff.email == "suzuki@city.example.lg.jp"))
    assert staff.roles == ["clerk", "approver"]
    assert secret.encode() not in staff.totp_secret_enc  # encrypted at rest
    assert totp_secret(staff) == secret

    # Not enrolled yet: the first sign-in confirms the authenticator with a code from that secret.
    response = sign_in_password(client, "suzuki@city.example.lg.jp", fields["password"])
    assert response.headers["Location"].startswith("/office/enrol")
    sign_in_staff(client, "suzuki@city.example.lg.jp", fields["password"], secret)
    assert client.get("/office/session").get_json()["signed_in"]


def test_staff_create_with_password_and_enrolled(runner, client, db):
    ensure_offices(db)
    result = runner.invoke(args=[
        "staff", "create", "--email", "a@example.lg.jp", "--name", "A", "--office", "zeimu", "--role", "admin",
        "--password", "a chosen long password", "--enrolled",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    fields = _fields(result.output)
    assert fields["password"] == "a chosen long password"
    response = sign_in_password(client, "a@example.lg.jp", "a chosen long password")
    assert response.headers["Location"].startswith("/office/sign-in/code")


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
