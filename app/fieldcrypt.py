"""Encryption of sensitive values at rest (My Number, TOTP secrets): AES-256-GCM under MADOGUCHI_FIELD_KEY.

The key is stretched with HKDF so any sufficiently random secret string works. A ``context`` string
(e.g. ``"submission:42"``) is bound as associated data, so a ciphertext copied onto another row
does not decrypt. No Flask imports: the caller passes the secret.
"""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"madoguchi field encryption v1").derive(
        secret.encode()
    )


def encrypt_json(values, *, secret: str, context: str) -> bytes:
    nonce = os.urandom(12)
    plaintext = json.dumps(values, ensure_ascii=False, sort_keys=True).encode()
    return _VERSION + nonce + AESGCM(_key(secret)).encrypt(nonce, plaintext, context.encode())


def decrypt_json(blob: bytes | None, *, secret: str, context: str):
    if not blob:
        return None
    if blob[:1] != _VERSION:
        raise ValueError("unknown encrypted-field format")
    nonce, ciphertext = blob[1:13], blob[13:]
    return json.loads(AESGCM(_key(secret)).decrypt(nonce, ciphertext, context.encode()))
