"""The one content-addressed store of bytes: rendered and sealed documents, images of their pages (for
verification), and uploaded attachments.

Bytes are stored under their SHA-256 in the instance folder, one folder per kind
(``documents/ab/<sha256>.pdf``, ``pages/ab/<sha256>.png``, ``uploads/ab/<sha256>``). A write goes to a
temporary file that is fsynced and renamed, so a crash leaves the old state or the new one, never half a
file; writing the same bytes again is a no-op. A read checks the hash: what comes back is exactly what
was stored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app

from app.durable_files import write_atomically

#: kind → (folder in the instance path, file suffix).
KINDS = {"documents": ("documents", ".pdf"), "uploads": ("uploads", ""), "pages": ("pages", ".png")}


class BlobCorrupted(RuntimeError):
    """Stored bytes no longer match their hash."""


def _path(kind: str, sha256: str) -> Path:
    folder, suffix = KINDS[kind]
    return Path(current_app.config["INSTANCE_PATH"]) / folder / sha256[:2] / f"{sha256}{suffix}"


def put(kind: str, data: bytes) -> str:
    """Store ``data`` (durably) and return its SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = _path(kind, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    return sha256


def get(kind: str, sha256: str) -> bytes:
    """The stored bytes, checked against their hash."""
    data = _path(kind, sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BlobCorrupted(f"stored {kind} {sha256} does not match its hash")
    return data
