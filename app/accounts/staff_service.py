"""Staff accounts: creation, enrolment links, passwords, the TOTP second factor, role grants, the My
Number designation, deactivation.

Services flush and never commit; the view (or CLI command) commits once. The TOTP secret is kept
encrypted (``app.fieldcrypt``, context ``staff-totp:<id>``) and is decrypted only to check a code or to
show it during enrolment. A code is accepted once: the time step it belongs to is recorded with a
conditional UPDATE, so two requests racing with the same code cannot both succeed.

Nobody but the member ever knows their password: an account is created without one, and the member
sets it (then their authenticator) through a single-use enrolment link sent to their address. The
approver and admin roles take effect only when a second administrator confirms them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from urllib.parse import urlsplit

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.accounts.models import PRIVILEGED_ROLES, STAFF_ROLES, Office, Staff
from app.accounts.service import (
    InvalidLink,
    check_password,
    check_password_policy,
    hash_password,
    normalize_email,
)
from app.accounts.signals import staff_created
from app.audit.service import record as audit
from app.db import utcnow
from app.errors import NotPermitted, ValidationFailed
from app.extensions import db
from app.fieldcrypt import decrypt_json, encrypt_json
from app.jobs.mail import queue_mail
from app.jp import InvalidValue

#: Shown in authenticator apps next to the account name.
TOTP_ISSUER = "Madoguchi"
#: pyotp's default: 30-second steps, 6 digits, SHA-1 (what every authenticator app understands).
TOTP_INTERVAL = 30
#: Codes of one step either side of now are accepted (clock drift, slow typing).
TOTP_VALID_WINDOW = 1
DISPLAY_NAME_MAX_LENGTH = 100
#: An enrolment link works once, for this long.
ENROLMENT_MAX_AGE = dt.timedelta(hours=72)

_CODE_RE = re.compile(r"\d{6}")


class StaffEmailInUse(ValidationFailed):
    """An account for this address exists already (only administrators see this)."""


def _now() -> float:
    """The clock for TOTP checks (tests may replace it)."""
    return time.time()


# --- creating and changing accounts ----------------------------------------------------------------


def _field_key() -> str:
    return current_app.config["MADOGUCHI_FIELD_KEY"]


def _context(staff: Staff) -> str:
    return f"staff-totp:{staff.id}"


def new_totp_secret() -> str:
    """160 bits from the CSPRNG, base32 (32 characters), as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def set_totp_secret(staff: Staff, secret: str) -> None:
    """Store ``secret`` (base32) encrypted for this staff member; the row must have an id (flushed)."""
    if staff.id is None:
        db.session.flush()
    staff.totp_secret_enc = encrypt_json(secret, secret=_field_key(), context=_context(staff))
    staff.last_totp_step = None
    db.session.flush()


def totp_secret(staff: Staff) -> str | None:
    """The base32 TOTP secret, decrypted; None if none was stored."""
    return decrypt_json(staff.totp_secret_enc, secret=_field_key(), context=_context(staff))


def totp_uri(staff: Staff) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(totp_secret(staff), interval=TOTP_INTERVAL).provisioning_uri(
        name=staff.email, issuer_name=TOTP_ISSUER
    )


def group_secret(secret: str) -> str:
    """``ABCD EFGH …``: the secret as a person types it into an authenticator app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def office_by_code(code: str) -> Office | None:
    return db.session.scalar(sa.select(Office).where(Office.code == (code or "").strip()))


def _checked_roles(roles) -> list[str]:
    chosen = [role for role in STAFF_ROLES if role in set(roles or ())]
    unknown = set(roles or ()) - set(STAFF_ROLES)
    if unknown:
        raise ValidationFailed(
            _("役割の指定が正しくありません：%(roles)s", roles=", ".join(sorted(unknown))), field="roles"
        )
    if not chosen:
        raise ValidationFailed(_("役割を1つ以上選んでください。"), field="roles")
    return chosen


def create_staff(
    email: str,
    display_name: str,
    office_code: str,
    roles,
    password: str | None = None,
    *,
    totp_secret_value: str | None = None,
    enrolled: bool = False,
    actor: Staff | None = None,
    grant_privileged: bool = False,
) -> tuple[Staff, str | None, str]:
    """Create a staff account; returns ``(staff, password, totp_secret)``.

    Without ``password`` the account has none yet (``password`` comes back None): the member sets it
    with the enrolment link (``send_enrolment_link``). A TOTP secret is generated (or
    ``totp_secret_value`` used, for the demo) and stored encrypted; the member confirms it with a first
    code at ``/office/enrol`` unless ``enrolled`` is true.

    Privileged roles (approver, admin) wait in ``pending_roles`` for a second administrator, unless
    ``grant_privileged`` (the demo seed, the tests, and the command line's first administrator).
    ``actor`` is the administrator who did it (None: the command line or the demo seed); the ledger
    records either. Raises ``ValidationFailed`` (``StaffEmailInUse`` for a taken address).
    """
    try:
        address = normalize_email(email)
    except InvalidValue as exc:
        raise ValidationFailed(str(exc.message), field="email") from exc
    name = " ".join((display_name or "").split())
    if not name:
        raise ValidationFailed(_("氏名を入力してください。"), field="display_name")
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise ValidationFailed(
            _("氏名は%(count)s文字以内で入力してください。", count=DISPLAY_NAME_MAX_LENGTH), field="display_name"
        )
    office = office_by_code(office_code)
    if office is None:
        raise ValidationFailed(_("課の指定が正しくありません。一覧から選んでください。"), field="office")
    chosen_roles = _checked_roles(roles)
    if password is not None:
        check_password_policy(password, address)
    secret = totp_secret_value or new_totp_secret()
    if db.session.scalar(sa.select(Staff.id).where(Staff.email == address)) is not None:
        raise StaffEmailInUse(_("このメールアドレスの職員は既に登録されています。"), field="email")
    held = chosen_roles if grant_privileged else [r for r in chosen_roles if r not in PRIVILEGED_ROLES]
    pending = [r for r in chosen_roles if r not in held]
    staff = Staff(
        email=address,
        display_name=name,
        office=office,
        roles=held,
        pending_roles=pending or None,
        roles_requested_by_id=actor.id if pending and actor is not None else None,
        # No password yet: a hash of a random value nobody knows, so no password matches it.
        password_hash=hash_password(password if password is not None else secrets.token_urlsafe(32)),
        password_set_at=utcnow() if password is not None else None,
        is_active=True,
        session_version=1,
    )
    try:
        with db.session.begin_nested():
            db.session.add(staff)
    except IntegrityError as exc:
        raise StaffEmailInUse(_("このメールアドレスの職員は既に登録されています。"), field="email") from exc
    set_totp_secret(staff, secret)
    if enrolled:
        staff.totp_enrolled_at = utcnow()
        db.session.flush()
    _audit("staff.create", staff, actor, office_id=office.id, roles=held, pending_roles=pending or None,
           enrolled=enrolled, password_set=password is not None)
    staff_created.send(staff)
    return staff, password, secret


def has_active_administrator() -> bool:
    return any(member.has_role("admin") for member in db.session.scalars(
        sa.select(Staff).where(Staff.is_active.is_(True))))


# --- role grants (four-eyes) -------------------------------------------------------------------------


def change_roles(staff: Staff, roles, actor: Staff | None) -> list[str]:
    """Set a member's roles: removals and unprivileged roles at once, approver and admin pending a
    second administrator. Returns the roles now pending."""
    chosen = _checked_roles(roles)
    before = list(staff.roles or ())
    held = [r for r in chosen if r not in PRIVILEGED_ROLES or r in before]
    pending = [r for r in chosen if r not in held]
    staff.roles = held
    staff.pending_roles = pending or None
    staff.roles_requested_by_id = actor.id if pending and actor is not None else None
    if set(before) - set(held):
        staff.session_version += 1  # a role taken away ends the sessions that had it
    db.session.flush()
    _audit("staff.roles_change", staff, actor, roles=held, pending_roles=pending or None, before=before)
    return pending


def confirm_roles(staff: Staff, actor: Staff) -> list[str]:
    """A second administrator confirms the pending privileged roles; returns what took effect."""
    pending = list(staff.pending_roles or ())
    if not pending:
        return []
    if not actor.has_role("admin") or actor.id in (staff.roles_requested_by_id, staff.id):
        raise NotPermitted(_("役割の付与は、依頼した管理者とは別の管理者が確認してください。"))
    staff.roles = [r for r in STAFF_ROLES if r in set(staff.roles or ()) | set(pending)]
    staff.pending_roles = None
    staff.roles_requested_by_id = None
    db.session.flush()
    _audit("staff.roles_confirm", staff, actor, granted=pending)
    return pending


def withdraw_roles(staff: Staff, actor: Staff) -> None:
    """Drop a pending grant (either administrator may)."""
    pending = list(staff.pending_roles or ())
    staff.pending_roles = None
    staff.roles_requested_by_id = None
    db.session.flush()
    if pending:
        _audit("staff.roles_withdraw", staff, actor, withdrawn=pending)


# --- the My Number designation ---------------------------------------------------------------------


def designate_mynumber_handler(staff: Staff, on: bool, actor: Staff | None) -> None:
    """Designate (or stop designating) a member as 個人番号事務取扱担当者. An administrator cannot
    designate themselves."""
    if actor is not None and actor.id == staff.id:
        raise NotPermitted(
            _("ご自身を個人番号事務取扱担当者に指定することはできません。別の管理者に依頼してください。"))
    if staff.mynumber_handler != on:
        staff.mynumber_handler = on
        db.session.flush()
    _audit("staff.mynumber_handler", staff, actor, on=on)


# --- enrolment links and passwords -------------------------------------------------------------------


def _enrolment_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="madoguchi.staff.enrol")


def _enrolment_fingerprint(staff: Staff) -> str:
    # Changes when the password or the session version changes: setting the password uses the link up.
    message = f"{staff.id}:{staff.password_hash}:{staff.session_version}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()[:32]


def enrolment_url(staff: Staff) -> str:
    """A single-use link (``ENROLMENT_MAX_AGE``) with which the member sets their password, then their
    authenticator. Built on MADOGUCHI_BASE_URL, never on a request's Host header."""
    token = _enrolment_serializer().dumps({"s": staff.id, "f": _enrolment_fingerprint(staff)})
    base = urlsplit(current_app.config["MADOGUCHI_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build("staff_auth.enrol_link", {"token": token}, force_external=True)


def send_enrolment_link(staff: Staff) -> str:
    """Mail the enrolment link to the member; returns it (development prints it)."""
    url = enrolment_url(staff)
    queue_mail(to=staff.email, template="staff_enrol", locale="ja",
               idempotency_key=f"staff-enrol:{staff.id}:{hashlib.sha256(url.encode()).hexdigest()[:16]}",
               enrol_url=url, hours=int(ENROLMENT_MAX_AGE.total_seconds() // 3600), name=staff.display_name)
    _audit("staff.enrolment_link", staff, None)
    return url


def staff_for_enrolment(token: str) -> Staff:
    try:
        data = _enrolment_serializer().loads(token, max_age=int(ENROLMENT_MAX_AGE.total_seconds()))
    except SignatureExpired as exc:
        raise InvalidLink(
            _("登録用のリンクの有効期限が切れています。管理者に、登録用のリンクの再送を依頼してください。"),
            expired=True) from exc
    except BadSignature as exc:
        raise InvalidLink(
            _("このリンクは正しくありません。メールに記載されたリンクをそのまま開いてください。")) from exc
    staff = db.session.get(Staff, data.get("s")) if isinstance(data, dict) else None
    if (staff is None or not staff.is_active
            or not hmac.compare_digest(str(data.get("f", "")), _enrolment_fingerprint(staff))):
        raise InvalidLink(
            _("このリンクは使用済みか、使えなくなっています。管理者に、登録用のリンクの再送を依頼してください。"))
    return staff


def set_password(staff: Staff, new_password: str, *, actor: Staff | None = None) -> None:
    """A new password for the member: every other session of theirs ends (ASVS 7.4.3)."""
    check_password_policy(new_password, staff.email)
    staff.password_hash = hash_password(new_password)
    staff.password_set_at = utcnow()
    staff.session_version += 1
    db.session.flush()
    _audit("staff.password_set", staff, actor if actor is not None else staff)


def change_own_password(staff: Staff, current_password: str, new_password: str) -> None:
    """The member changes their own password; the current one must be given (ASVS 6.2.3)."""
    if not check_password(staff, current_password):
        raise ValidationFailed(_("現在のパスワードが正しくありません。"), field="current_password")
    set_password(staff, new_password)


def _audit(action: str, staff: Staff, actor: Staff | None, **data) -> None:
    # Ids and role names only: the ledger never holds names or addresses.
    audit(
        action,
        actor_type="staff" if actor is not None else "system",
        actor_id=actor.id if actor is not None else None,
        subject_type="staff",
        subject_id=staff.id,
        data=data or None,
    )


def deactivate(staff: Staff, actor: Staff | None = None) -> None:
    """Stop the account; every session of it ends on its next request."""
    if staff.is_active:
        staff.is_active = False
        staff.deactivated_at = utcnow()
    staff.session_version += 1
    db.session.flush()
    _audit("staff.deactivate", staff, actor)


def reactivate(staff: Staff, actor: Staff | None = None) -> None:
    staff.is_active = True
    staff.deactivated_at = None
    db.session.flush()
    _audit("staff.reactivate", staff, actor)


def record_sign_in(staff: Staff, *, enrolled_now: bool = False) -> None:
    """A complete sign-in (password and code), in the audit ledger."""
    _audit("staff.sign_in", staff, staff, enrolled_now=enrolled_now)


def record_sign_out(staff: Staff) -> None:
    _audit("staff.sign_out", staff, staff)


def list_staff() -> list[Staff]:
    return list(db.session.scalars(sa.select(Staff).join(Staff.office).order_by(Office.code, Staff.email)))


def find_staff(email: str) -> Staff | None:
    try:
        address = normalize_email(email)
    except InvalidValue:
        return None
    return db.session.scalar(sa.select(Staff).where(Staff.email == address))


# --- signing in --------------------------------------------------------------------------------------


def authenticate_staff(email: str, password: str) -> Staff | None:
    """The active staff member whose password this is, or None.

    An unknown address costs one Argon2 check too, and a deactivated account (or one whose member has
    not set a password yet) answers like a wrong password, so the sign-in page says nothing about which
    accounts exist.
    """
    staff = find_staff(email)
    if not check_password(staff, password) or not staff.is_active or staff.password_set_at is None:
        return None
    return staff


def normalize_code(code: str | None) -> str:
    """Full-width digits folded, spaces and hyphens dropped: ``１２３ ４５６`` reads as ``123456``."""
    text = unicodedata.normalize("NFKC", code or "")
    return re.sub(r"[\s\-]", "", text)


def verify_totp(staff: Staff, code: str) -> bool:
    """Check a 6-digit code; on success record the step and ``last_second_factor_at``.

    Refused: a malformed code, a wrong one, one outside ±1 step, and one whose step is not later than
    the last accepted step (a replay, or an older code after a newer one).
    """
    code = normalize_code(code)
    if not _CODE_RE.fullmatch(code) or not staff.is_active:
        return False
    secret = totp_secret(staff)
    if not secret:
        return False
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(_now()) // TOTP_INTERVAL
    matched = [
        step
        for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    if not matched:
        return False
    step = max(matched)
    if staff.last_totp_step is not None and step <= staff.last_totp_step:
        return False
    # Conditional: of two requests with the same code, only one finds the old step still in place.
    result = db.session.execute(
        sa.update(Staff)
        .where(Staff.id == staff.id, sa.or_(Staff.last_totp_step.is_(None), Staff.last_totp_step < step))
        .values(last_totp_step=step, last_second_factor_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        db.session.refresh(staff)
        return False
    db.session.refresh(staff, ["last_totp_step", "last_second_factor_at"])
    return True


def complete_enrolment(staff: Staff) -> None:
    if staff.totp_enrolled_at is None:
        staff.totp_enrolled_at = utcnow()
        db.session.flush()


def second_factor_is_fresh(staff: Staff) -> bool:
    """Whether the staff member gave a TOTP code within ``SEAL_FRESH_MINUTES``: applying a seal asks for
    a recent second factor, not only a live session."""
    limit = dt.timedelta(minutes=current_app.config["SEAL_FRESH_MINUTES"])
    return staff.last_second_factor_at is not None and utcnow() - staff.last_second_factor_at <= limit
