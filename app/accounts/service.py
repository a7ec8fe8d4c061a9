"""Resident accounts: passwords, sign-up, sign-in, e-mail confirmation and password reset.

Services flush and never commit; the request commits once. Nothing here says whether an address has an
account: the pages for sign-in, sign-up and reset say the same thing either way (no enumeration), and
the work done for an unknown address costs about the same as for a known one (a dummy Argon2 check).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from functools import cache
from urllib.parse import urlsplit

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from app.accounts.models import Resident
from app.db import utcnow
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.jobs.mail import queue_mail
from app.jp import InvalidValue, parse_email

CONFIRM_MAX_AGE = dt.timedelta(days=3)
RESET_MAX_AGE = dt.timedelta(hours=1)
PASSWORD_MIN_LENGTH = 10
#: Long enough for any passphrase (ASVS asks for 64); bounded so a request cannot make Argon2 chew megabytes.
PASSWORD_MAX_LENGTH = 256
#: zxcvbn's score (0-4) a new password needs: 3 means about 10^8 guesses or more, beyond the common
#: passwords, names, dictionary words, dates, keyboard patterns and l33t spellings it knows (tens of
#: thousands; ASVS 6.2.4, 6.2.12), while long passphrases pass whatever they are made of.
PASSWORD_MIN_SCORE = 3
#: zxcvbn looks at this many characters (its own limit; what follows only adds strength).
_SCORED_LENGTH = 72


class EmailInUse(ValidationFailed):
    """Raised by ``register_resident``; views must not show it (it would reveal that the account exists)."""


class InvalidLink(DomainError):
    """A confirmation or reset link that is malformed, expired or already used."""

    code = "invalid_link"
    status = 400

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


# --- e-mail addresses and passwords ------------------------------------------------------------


def normalize_email(value: str) -> str:
    """Full-width characters folded (IME input) and the whole address lower-cased, as stored."""
    return parse_email(value or "").lower()


def _normalize_password(password: str) -> str:
    # NFKC so that a password typed in full-width mode on one device and half-width on another is the
    # same password (NIST SP 800-63B 5.1.1.2). Never truncated, never case-folded.
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, email: str) -> None:
    """Length, not composition rules (ASVS 6.2.5): long is what makes a password strong."""
    text = _normalize_password(password)
    if len(text) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            _(
                "パスワードは%(count)s文字以上で入力してください。覚えやすい言葉をいくつか組み合わせると安全です。",
                count=PASSWORD_MIN_LENGTH,
            ),
            field="password",
        )
    if len(text) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed(
            _("パスワードは%(count)s文字以内で入力してください。", count=PASSWORD_MAX_LENGTH), field="password"
        )
    folded = text.casefold()
    local_part, _at, domain = email.casefold().partition("@")
    if folded in (email.casefold(), local_part):
        raise ValidationFailed(
            _("メールアドレスと同じパスワードは使えません。別のパスワードを入力してください。"), field="password"
        )
    context = [local_part, *domain.split("."), "madoguchi", "窓口"]
    if len(set(folded)) == 1 or zxcvbn(text[:_SCORED_LENGTH], user_inputs=context)["score"] < PASSWORD_MIN_SCORE:
        raise ValidationFailed(
            _("このパスワードは推測されやすいため使えません。よく使われる言葉や並び、名前や日付だけの組み合わせを避け、"
              "覚えやすい言葉をいくつか組み合わせてください。"), field="password"
        )


@cache
def _hasher(fast: bool) -> PasswordHasher:
    if fast:
        # Tests only: same algorithm and format, a fraction of the cost.
        return PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    return PasswordHasher()  # argon2-cffi's defaults follow RFC 9106's recommendation


def _current_hasher() -> PasswordHasher:
    return _hasher(bool(current_app.config.get("PASSWORD_HASH_FAST")))


@cache
def _dummy_hash(fast: bool) -> str:
    return _hasher(fast).hash("madoguchi-dummy-password")


def hash_password(password: str) -> str:
    return _current_hasher().hash(_normalize_password(password))


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _current_hasher().verify(stored_hash, _normalize_password(password))
    except (VerificationError, InvalidHashError):
        return False


# --- sign-up and sign-in -------------------------------------------------------------------------


def register_resident(email: str, password: str, locale: str) -> Resident:
    """Create an unconfirmed resident and queue the confirmation mail.

    Raises ``ValidationFailed`` for a bad address or password and ``EmailInUse`` for an address that
    already has an account (callers answer that case exactly like a new sign-up).
    """
    try:
        address = normalize_email(email)
    except InvalidValue as exc:
        raise ValidationFailed(str(exc.message), field="email") from exc
    check_password_policy(password, address)
    # Hash before looking the address up, so a taken address answers no faster than a new one.
    password_hash = hash_password(password)
    if db.session.scalar(sa.select(Resident.id).where(Resident.email == address)) is not None:
        raise EmailInUse(_("このメールアドレスは既に登録されています。"), field="email")
    resident = Resident(email=address, password_hash=password_hash, locale=locale)
    try:
        with db.session.begin_nested():  # two sign-ups racing for one address: the loser gets EmailInUse
            db.session.add(resident)
    except IntegrityError as exc:
        raise EmailInUse(_("このメールアドレスは既に登録されています。"), field="email") from exc
    send_confirmation(resident)
    return resident


def notify_existing_account(email: str) -> None:
    """Someone signed up with an address that has an account: tell its owner, not the person typing."""
    resident = _find(email)
    if resident is None:
        return
    # At most one such mail per hour, so repeated sign-ups cannot flood someone's mailbox.
    hour = utcnow().strftime("%Y%m%d%H")
    queue_mail(
        to=resident.email,
        template="account_exists",
        locale=resident.locale,
        idempotency_key=f"account-exists:{resident.id}:{hour}",
        sign_in_url=_external_url("accounts.sign_in"),
        reset_url=_external_url("accounts.reset_request"),
    )


def check_password(account, password: str) -> bool:
    """Whether ``password`` is the account's (a resident or a staff member).

    ``account`` None (an unknown address) costs one Argon2 check too, so timing does not tell which
    addresses exist. A hash made with older parameters is replaced (for residents this also retires
    outstanding reset links, which embed a fingerprint of the hash).
    """
    if account is None:
        verify_password(_dummy_hash(bool(current_app.config.get("PASSWORD_HASH_FAST"))), password)
        return False
    if not verify_password(account.password_hash, password):
        return False
    if _current_hasher().check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
        db.session.flush()
    return True


def authenticate(email: str, password: str) -> Resident | None:
    """The resident whose password this is, or None."""
    resident = _find(email)
    return resident if check_password(resident, password) else None


def record_sign_in(resident: Resident) -> None:
    resident.last_sign_in_at = utcnow()
    db.session.flush()


def _find(email: str) -> Resident | None:
    try:
        address = normalize_email(email)
    except InvalidValue:
        return None
    return db.session.scalar(sa.select(Resident).where(Resident.email == address))


# --- links sent by mail --------------------------------------------------------------------------
# Tokens are itsdangerous signatures over a small payload, salted per purpose so a confirmation token
# can never be replayed as a reset token. They live only in the mail; nothing is stored.


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"madoguchi.accounts.{purpose}")


def _external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, built on MADOGUCHI_BASE_URL, never on the request's Host header
    (which an attacker can set); works outside a request too (CLI, worker)."""
    base = urlsplit(current_app.config["MADOGUCHI_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _load(purpose: str, token: str, max_age: dt.timedelta, expired_message: str) -> dict:
    malformed = _("このリンクは正しくありません。メールに記載されたリンクをそのまま開いてください。")
    try:
        data = _serializer(purpose).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        raise InvalidLink(expired_message, expired=True) from exc
    except BadSignature as exc:
        raise InvalidLink(malformed) from exc
    if not isinstance(data, dict):
        raise InvalidLink(malformed)
    return data


def send_confirmation(resident: Resident) -> None:
    # The address is in the token: if it changes, links sent to the old address stop working. The nonce
    # makes every mail a new message: "resend" must send even if pressed within the token's second.
    payload = {"r": resident.id, "e": resident.email, "n": secrets.token_urlsafe(6)}
    token = _serializer("confirm-email").dumps(payload)
    queue_mail(
        to=resident.email,
        template="confirm_email",
        locale=resident.locale,
        idempotency_key=f"confirm:{resident.id}:{_token_key(token)}",
        confirm_url=_external_url("accounts.confirm", token=token),
        days=CONFIRM_MAX_AGE.days,
    )


def confirm_email(token: str) -> Resident:
    """Mark the address confirmed; opening the link again is harmless (mail scanners open links too)."""
    data = _load(
        "confirm-email",
        token,
        CONFIRM_MAX_AGE,
        _(
            "確認用のリンクの有効期限（%(days)s日）が切れています。サインインすると、確認メールを再送できます。",
            days=CONFIRM_MAX_AGE.days,
        ),
    )
    resident = db.session.get(Resident, data.get("r"))
    if resident is None or resident.email != data.get("e"):
        raise InvalidLink(_("このリンクは使えなくなりました。サインインすると、確認メールを再送できます。"))
    if resident.email_confirmed_at is None:
        resident.email_confirmed_at = utcnow()
        db.session.flush()
    return resident


def _reset_fingerprint(resident: Resident) -> str:
    # Changes when the password or the session version changes, so a reset link works once: using it
    # sets a new password, and the old link's fingerprint no longer matches. Keyed, because the token's
    # payload is readable by whoever holds the link.
    message = f"{resident.id}:{resident.password_hash}:{resident.session_version}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()[:32]


def request_password_reset(email: str) -> None:
    """Queue a reset mail if the address has an account; otherwise do nothing (the page is the same)."""
    resident = _find(email)
    if resident is None:
        return
    token = _serializer("reset-password").dumps({"r": resident.id, "f": _reset_fingerprint(resident)})
    queue_mail(
        to=resident.email,
        template="reset_password",
        locale=resident.locale,
        idempotency_key=f"reset:{resident.id}:{_token_key(token)}",
        reset_url=_external_url("accounts.reset_password", token=token),
        minutes=int(RESET_MAX_AGE.total_seconds() // 60),
    )


def resident_for_reset(token: str) -> Resident:
    """The resident a reset link belongs to, if the link is still good."""
    data = _load(
        "reset-password",
        token,
        RESET_MAX_AGE,
        _(
            "パスワード再設定用のリンクの有効期限（%(minutes)s分）が切れています。もう一度、再設定を申し込んでください。",
            minutes=int(RESET_MAX_AGE.total_seconds() // 60),
        ),
    )
    resident = db.session.get(Resident, data.get("r"))
    if resident is None or not hmac.compare_digest(str(data.get("f", "")), _reset_fingerprint(resident)):
        raise InvalidLink(_("このリンクは使用済みか、使えなくなっています。もう一度、再設定を申し込んでください。"))
    return resident


def reset_password(token: str, new_password: str) -> Resident:
    resident = resident_for_reset(token)
    check_password_policy(new_password, resident.email)
    resident.password_hash = hash_password(new_password)
    # Every existing session ends: whoever knew the old password is signed out everywhere.
    resident.session_version += 1
    # The link arrived in this mailbox, which proves the address as well as a confirmation would.
    if resident.email_confirmed_at is None:
        resident.email_confirmed_at = utcnow()
    db.session.flush()
    return resident
