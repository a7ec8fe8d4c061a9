"""Seal keys re-encrypted: PKCS#8 PBES2 with scrypt instead of PBKDF2 with 2,048 iterations

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Every private key stored in ``seal_certificates.key_pem_enc`` (issuing CAs, organisation seals, staff,
and a root key an earlier version kept) is decrypted under MADOGUCHI_KEY_PASSPHRASE and encrypted
again with scrypt (N=2**17, r=8, p=1; app/seals/pki.py). It runs in ``flask db upgrade`` (a command-line
process, which holds the passphrase). A database without stored keys needs no passphrase. The root
key is moved offline by ``flask seals root-offline`` (every ``flask seals`` command says so until then).

Downgrade writes the keys back the way ``cryptography`` does by itself (PBKDF2-SHA256, 2,048 iterations),
which the earlier version wrote and reads.
"""
import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import serialization
from flask import current_app

from app.seals import pki

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SEAL_CERTIFICATES = sa.table('seal_certificates', sa.column('id', sa.Integer),
                             sa.column('key_pem_enc', sa.LargeBinary))


def _rewrite(convert) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(SEAL_CERTIFICATES.c.id, SEAL_CERTIFICATES.c.key_pem_enc)
                              .where(SEAL_CERTIFICATES.c.key_pem_enc.is_not(None))).all()
    if not rows:
        return
    passphrase = current_app.config.get("MADOGUCHI_KEY_PASSPHRASE")
    if not passphrase:
        raise RuntimeError("re-encrypting the stored seal keys needs MADOGUCHI_KEY_PASSPHRASE: run "
                           "`flask db upgrade` as an operator's command (MADOGUCHI_PROCESS=cli)")
    cost = int(current_app.config.get("SEAL_KEY_SCRYPT_N") or pki.SCRYPT_N)
    for row_id, pem in rows:
        new_pem = convert(bytes(pem), passphrase, cost)
        if new_pem is not None:
            connection.execute(sa.update(SEAL_CERTIFICATES).where(SEAL_CERTIFICATES.c.id == row_id)
                               .values(key_pem_enc=new_pem))


def _to_scrypt(pem: bytes, passphrase: str, cost: int) -> bytes | None:
    if pki.key_protection(pem)[0] == "scrypt":
        return None
    return pki.encrypt_key(pki.decrypt_key(pem, passphrase), passphrase, cost=cost)


def _to_pbkdf2(pem: bytes, passphrase: str, _cost: int) -> bytes:
    key = pki.decrypt_key(pem, passphrase)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase.encode()))


def upgrade():
    _rewrite(_to_scrypt)


def downgrade():
    _rewrite(_to_pbkdf2)
