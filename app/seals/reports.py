"""What a verification found, importable without pyHanko (the web process unpickles it from the
verification child, ``app.seals.verify_pool``). No Flask imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class VerificationTooCostly(Exception):
    """Checking the file hit the verification child's CPU, memory or time limit (a decompression bomb,
    a file built to be slow); ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class SignatureReport:
    """One signature (or, with ``kind="doc_timestamp"``, one document timestamp) of the file.

    ``signing_time``: the trusted timestamp's time when ``timestamp_trusted``, else the time the
    signer claims (``/M``), or None. ``revoked``: revoked at (before) the signing time — the
    signature fails. ``revoked_at``/``revocation_reason``: what the given CRLs say about the signer
    certificate, also when the revocation came after the signature (which then stays valid).
    ``modification_level``: pyHanko's name for what was appended after this signature (``NONE``,
    ``LTA_UPDATES``, ``FORM_FILLING``, ``ANNOTATIONS``, ``OTHER``).
    """

    field: str
    signer_subject: dict[str, str]
    signer_fingerprint: str
    signing_time: datetime | None
    timestamp_trusted: bool
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    revocation_reason: str | None
    modification_level: str
    docmdp_ok: bool
    covers_whole_file: bool
    bottom_line: bool = False
    revoked_at: datetime | None = None
    kind: str = "signature"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    genuine: bool
    signatures: list[SignatureReport]
    problems: list[str]
