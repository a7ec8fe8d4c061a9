"""Encryption of sensitive answers (My Number) at rest: AES-256-GCM under MADOGUCHI_FIELD_KEY.

The key is stretched with HKDF so any sufficiently random secret string works; the submission id is
bound as associated data, so a ciphertext copied onto another submission does not decrypt.
"""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"madoguchi sensitive answers v1").derive(
        secret.encode()
    )


def encrypt_answers(values: dict, *, secret: str, submission_id: int) -> bytes:
    nonce = os.urandom(12)
    plaintext = json.dumps(values, ensure_ascii=False, sort_keys=True).encode()
    return _VERSION + nonce + AESGCM(_key(secret)).encrypt(nonce, plaintext, str(submission_id).encode())


def decrypt_answers(blob: bytes | None, *, secret: str, submission_id: int) -> dict:
    if not blob:
        return {}
    if blob[:1] != _VERSION:
        raise ValueError("unknown sensitive-answer format")
    nonce, ciphertext = blob[1:13], blob[13:]
    return json.loads(AESGCM(_key(secret)).decrypt(nonce, ciphertext, str(submission_id).encode()))
