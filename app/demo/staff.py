"""Demo staff for ``flask demo seed``: fixed passwords and fixed TOTP secrets.

Fixed so that a person trying the demo can add a secret to an authenticator app once, and so that
tests can compute codes. Never use these accounts outside a demo: the secrets are in the source.
"""

from __future__ import annotations

from app.accounts import staff_service

# bandit B105: the demo's, published; refused in production
DEMO_STAFF_PASSWORD = "madoguchi-staff-2026"  # nosec B105

#: (email, display name, office code, roles, base32 TOTP secret)
DEMO_STAFF: list[tuple[str, str, str, tuple[str, ...], str]] = [
    ("suzuki@city.example.lg.jp", "鈴木 一郎", "shimin", ("clerk",), "MADOGUCHIDEMOSUZUKICLERK2SHIMIN2"),
    ("tanaka@city.example.lg.jp", "田中 花子", "shimin", ("clerk",), "MADOGUCHIDEMOTANAKACLERK2SHIMIN2"),
    ("kacho.shimin@city.example.lg.jp", "佐藤 健一", "shimin", ("approver",), "MADOGUCHIDEMOKACHOAPPROVESHIMIN2"),
    ("kacho.zeimu@city.example.lg.jp", "高橋 誠", "zeimu", ("approver",), "MADOGUCHIDEMOKACHOAPPROVERZEIMU2"),
    ("kacho.fukushi@city.example.lg.jp", "伊藤 由美", "fukushi", ("approver",), "MADOGUCHIDEMOKACHOAPPROVEFUKUSHI"),
    ("madoguchi@city.example.lg.jp", "渡辺 さくら", "shimin", ("counter_clerk",), "MADOGUCHIDEMOWATANABECOUNTERCLKA"),
    ("admin@city.example.lg.jp", "山本 管理者", "shimin", ("admin",), "MADOGUCHIDEMOYAMAMOTOADMINISTRAT"),
]


def seed_demo_staff() -> list[str]:
    """Create the demo staff that are missing (flushes; the caller commits); return lines to print.

    The offices must exist (``sync_catalogue`` first). Accounts already present are left as they are.
    """
    lines = ["Staff (sign in at /office/sign-in; the code comes from an authenticator app holding the TOTP secret):"]
    for email, name, office_code, roles, secret in DEMO_STAFF:
        if staff_service.find_staff(email) is None:
            staff_service.create_staff(
                email, name, office_code, list(roles), DEMO_STAFF_PASSWORD, totp_secret_value=secret, enrolled=True,
                grant_privileged=True,  # the demo's approvers and administrator: development only
            )
        lines.append(
            f"  {email}\t{office_code}\t{','.join(roles)}\tpassword: {DEMO_STAFF_PASSWORD}\tTOTP secret: {secret}"
        )
    return lines
