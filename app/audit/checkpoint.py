"""Signed checkpoints of the ledger, kept outside the database. No Flask, no database.

A checkpoint states "the ledger had SIZE entries and entry SIZE hashed to HEAD", signed with the
Ed25519 key ``MADOGUCHI_AUDIT_KEY``. Whoever can write the database can recompute the whole chain or
cut off its newest entries; a checkpoint exported elsewhere (the audit section's mailbox, WORM storage,
a printout) lets ``flask audit verify --checkpoint FILE`` catch both.

The file is a C2SP signed note (https://c2sp.org/signed-note) carrying a C2SP ``tlog-checkpoint`` body,
so standard note tooling can check the signature::

    madoguchi-audit                                   origin
    1234                                              tree size: number of entries
    3q2+7w…=                                          base64 of the 32-byte hash of entry SIZE
                                                      blank line: the signed text ends before it
    — madoguchi-audit AbCdEf…                         em dash, key name, base64(key id ‖ signature)

The signed text is the three body lines, each ending in a newline. The key id is the first four bytes
of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key), 0x01 naming the Ed25519 algorithm;
the signature is Ed25519 over the signed text. The head of an empty ledger is 32 zero bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ORIGIN = "madoguchi-audit"
KEY_NAME = "madoguchi-audit"
_ED25519 = b"\x01"
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


class CheckpointError(ValueError):
    """The checkpoint cannot be read, or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    size: int
    #: Lower-case hex SHA-256 of entry ``size`` (64 zeros for an empty ledger).
    head: str

    def as_dict(self) -> dict:
        return {"size": self.size, "head": self.head}


# ---- keys -------------------------------------------------------------------------------------------


def load_private_key(pem: str) -> Ed25519PrivateKey:
    # An environment variable often carries a PEM with its line breaks written as "\n".
    if "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError("MADOGUCHI_AUDIT_KEY is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError("MADOGUCHI_AUDIT_KEY must be an Ed25519 key")
    return key


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise CheckpointError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("the public key is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def new_private_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


def key_id(public_key: Ed25519PublicKey, name: str = KEY_NAME) -> bytes:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + raw).digest()[:4]


# ---- the signed note --------------------------------------------------------------------------------


def _body(size: int, head: str) -> str:
    return f"{ORIGIN}\n{size}\n{base64.b64encode(bytes.fromhex(head)).decode()}\n"


def sign(private_key: Ed25519PrivateKey, checkpoint: Checkpoint) -> str:
    """The checkpoint as the text of a signed note."""
    body = _body(checkpoint.size, checkpoint.head)
    signature = private_key.sign(body.encode())
    stamp = base64.b64encode(key_id(private_key.public_key()) + signature).decode()
    return f"{body}\n\u2014 {KEY_NAME} {stamp}\n"


def open_signed(text: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in ``text`` once its signature by ``public_key`` verifies; CheckpointError otherwise."""
    body, sep, signatures = text.partition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise CheckpointError("not a signed checkpoint (no signature block)")
    body += "\n"
    wanted_id = key_id(public_key)
    verified = False
    for line in signatures[:-1].split("\n"):
        match = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        if not match:
            raise CheckpointError("malformed signature line")
        try:
            blob = base64.b64decode(match.group(2), validate=True)
        except binascii.Error as exc:
            raise CheckpointError("malformed signature line") from exc
        # Other signers (witnesses) may add their lines; only ours is checked, but ours must verify.
        if match.group(1) != KEY_NAME or blob[:4] != wanted_id:
            continue
        try:
            public_key.verify(blob[4:], body.encode())
        except InvalidSignature as exc:
            raise CheckpointError("checkpoint signature is invalid") from exc
        verified = True
    if not verified:
        raise CheckpointError("checkpoint is not signed by this audit key")

    lines = body.split("\n")
    if len(lines) < 4 or lines[0] != ORIGIN:
        raise CheckpointError(f"checkpoint origin is not {ORIGIN!r}")
    if not _SIZE.fullmatch(lines[1]):
        raise CheckpointError("checkpoint size is not a number")
    try:
        head = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise CheckpointError("checkpoint head is not base64") from exc
    if len(head) != 32:
        raise CheckpointError("checkpoint head is not a SHA-256 hash")
    return Checkpoint(size=int(lines[1]), head=head.hex())
