"""The staff service on its own: passwords, the TOTP secret at rest, code checks and replay."""

from __future__ import annotations

import pyotp
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts import staff_service
from app.accounts.models import Staff
from app.errors import ValidationFailed
from app.fieldcrypt import decrypt_json
from tests.support.staff import ensure_offices, make_staff

NOW = 1_800_000_000.0  # a fixed clock: step 60_000_000


@pytest.fixture
def clock(monkeypatch):
    now = {"t": NOW}
    monkeypatch.setattr(staff_service, "_now", lambda: now["t"])
    return now


def _code(secret: str, t: float) -> str:
    return pyotp.TOTP(secret).at(t)


def test_create_staff_sets_no_password_and_a_secret(db):
    ensure_offices(db)
    staff, password, secret = staff_service.create_staff("X@Example.lg.jp", " 鈴木　一郎 ", "shimin", ["clerk"])
    assert staff.email == "x@example.lg.jp"
    assert staff.display_name == "鈴木 一郎"
    assert password is None and staff.password_set_at is None  # the member sets it with the enrolment link
    assert staff_service.authenticate_staff("x@example.lg.jp", "") is None
    assert len(secret) == 32
    assert staff_service.totp_secret(staff) == secret
    assert staff.has_role("clerk") and not staff.has_role("admin")
    assert not staff.is_enrolled and staff.is_active and staff.session_version == 1


def test_roles_are_checked_and_kept_in_a_fixed_order(db):
    ensure_offices(db)
    with pytest.raises(ValidationFailed) as raised:
        staff_service.create_staff("a@example.lg.jp", "A", "shimin", [])
    assert raised.value.field == "roles"
    with pytest.raises(ValidationFailed):
        staff_service.create_staff("a@example.lg.jp", "A", "shimin", ["clerk", "root"])
    staff, _pw, _s = staff_service.create_staff("a@example.lg.jp", "A", "shimin", ["admin", "clerk", "clerk"],
                                                grant_privileged=True)
    assert staff.roles == ["clerk", "admin"]
    waiting, _pw, _s = staff_service.create_staff("b@example.lg.jp", "B", "shimin", ["admin", "clerk"])
    assert waiting.roles == ["clerk"] and waiting.pending_roles == ["admin"]


def test_the_secret_is_bound_to_its_row(db):
    first, _p, secret = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    second, _p, _s = make_staff(db, "b@example.lg.jp", "shimin", ["clerk"])
    assert secret.encode() not in first.totp_secret_enc
    # A ciphertext copied onto another account does not decrypt there.
    second.totp_secret_enc = first.totp_secret_enc
    with pytest.raises(InvalidTag):
        staff_service.totp_secret(second)
    with pytest.raises(InvalidTag):
        decrypt_json(first.totp_secret_enc, secret="another key", context=f"staff-totp:{first.id}")


def test_totp_uri(db):
    staff, _p, secret = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    uri = staff_service.totp_uri(staff)
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == secret and parsed.issuer == "Madoguchi" and parsed.name == "a@example.lg.jp"
    assert staff_service.group_secret("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_codes_within_one_step_are_accepted_once_and_in_order(db, clock):
    staff, _p, secret = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    assert not staff_service.verify_totp(staff, _code(secret, NOW - 60))  # two steps ago
    assert not staff_service.verify_totp(staff, _code(secret, NOW + 60))  # two steps ahead
    assert staff.last_second_factor_at is None

    assert staff_service.verify_totp(staff, _code(secret, NOW - 30))
    assert staff.last_totp_step == int(NOW) // 30 - 1
    assert staff.last_second_factor_at is not None
    assert not staff_service.verify_totp(staff, _code(secret, NOW - 30))  # the same code again
    assert staff_service.verify_totp(staff, _code(secret, NOW))
    assert staff_service.verify_totp(staff, _code(secret, NOW + 30))
    assert not staff_service.verify_totp(staff, _code(secret, NOW))  # older than the last one
    db.session.commit()
    assert db.session.get(Staff, staff.id).last_totp_step == int(NOW) // 30 + 1


def test_a_race_with_one_code_has_one_winner(db, clock):
    """Two requests that both loaded the row before either wrote: the conditional UPDATE decides."""
    staff, _p, secret = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    code = _code(secret, NOW)
    assert staff_service.verify_totp(staff, code)
    set_committed_value(staff, "last_totp_step", None)  # the second request's stale view of the row
    assert not staff_service.verify_totp(staff, code)
    assert staff.last_totp_step == int(NOW) // 30


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5"])
def test_malformed_codes_are_refused(db, clock, typed):
    staff, _p, _s = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    assert not staff_service.verify_totp(staff, typed)


def test_an_inactive_account_cannot_use_a_code(db, clock):
    staff, _p, secret = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    version = staff.session_version
    staff_service.deactivate(staff)
    assert staff.session_version == version + 1 and staff.deactivated_at is not None
    assert not staff_service.verify_totp(staff, _code(secret, NOW))
    staff_service.reactivate(staff)
    assert staff.is_active and staff.deactivated_at is None
    assert staff_service.verify_totp(staff, _code(secret, NOW))


def test_authenticate_staff(db):
    staff, password, _s = make_staff(db, "a@example.lg.jp", "shimin", ["clerk"])
    assert staff_service.authenticate_staff("A@example.lg.jp", password) == staff
    assert staff_service.authenticate_staff("a@example.lg.jp", password + "x") is None
    assert staff_service.authenticate_staff("nobody@example.lg.jp", password) is None
    assert staff_service.authenticate_staff("not an address", password) is None
    staff_service.deactivate(staff)
    assert staff_service.authenticate_staff("a@example.lg.jp", password) is None
