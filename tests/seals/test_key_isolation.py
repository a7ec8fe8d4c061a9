"""H4: no seal key is reachable from the web tier; the root CA key is kept offline; stored keys are
PKCS#8 PBES2 with scrypt (the review found PBKDF2 with 2,048 iterations, every key decryptable by the
web factory's configuration, and the root key online)."""

from __future__ import annotations

import datetime as dt
import secrets
import stat

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization

from app import create_app
from app.seals import pki as pki_core
from app.seals import service
from app.seals.models import CrlPublication, SealCertificate

ROOT_PASSPHRASE = "an offline root passphrase, long enough"


def _stored_keys(db) -> list[SealCertificate]:
    return list(db.session.scalars(sa.select(SealCertificate).where(SealCertificate.key_pem_enc.is_not(None))))


def test_h4_a_web_app_under_production_configuration_cannot_decrypt_any_key(app, db, pki, tmp_path):
    from app.extensions import db as extension_db

    stored = _stored_keys(db)
    assert {row.kind for row in stored} == {"issuing", "org"}  # staff keys come with staff; never the root's
    # A deployment that (wrongly) hands every secret to the web processes too.
    handed = {"SECRET_KEY": secrets.token_urlsafe(32), "MADOGUCHI_FIELD_KEY": app.config["MADOGUCHI_FIELD_KEY"],
              "MADOGUCHI_KEY_PASSPHRASE": app.config["MADOGUCHI_KEY_PASSPHRASE"] + "-" * 20,
              "MADOGUCHI_AUDIT_KEY": "not read anyway"}
    web = create_app({"INSTANCE_PATH": str(tmp_path / "web"), "SQLALCHEMY_DATABASE_URI":
                      app.config["SQLALCHEMY_DATABASE_URI"], "MADOGUCHI_ENV": "production", **handed})
    assert web.config["MADOGUCHI_PROCESS"] == "web"
    with web.app_context():
        rows = list(extension_db.session.scalars(sa.select(SealCertificate).where(
            SealCertificate.key_pem_enc.is_not(None))))
        assert len(rows) == len(stored)
        for row in rows:
            with pytest.raises(service.KeysUnavailable):
                service.signer_for(row)
            for value in web.config.values():  # no configured string opens any stored key
                if isinstance(value, str) and value:
                    with pytest.raises((ValueError, TypeError)):
                        pki_core.decrypt_key(row.key_pem_enc, value)
        extension_db.session.remove()
        extension_db.engine.dispose()


def test_h4_stored_keys_are_scrypt_pkcs8_that_cryptography_reads(db, pki):
    for row in _stored_keys(db):
        kdf, cost = pki_core.key_protection(row.key_pem_enc)
        assert kdf == "scrypt" and cost >= 2**10
        serialization.load_pem_private_key(row.key_pem_enc, password=b"test-passphrase")
    production = pki_core.encrypt_key(pki_core.new_key(), "passphrase")  # the default cost
    assert pki_core.key_protection(production) == ("scrypt", 2**17) and pki_core.key_is_strongly_protected(production)
    assert serialization.load_pem_private_key(production, password=b"passphrase")
    old = pki_core.new_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"passphrase"))
    assert pki_core.key_protection(old) == ("pbkdf2", 2048) and not pki_core.key_is_strongly_protected(old)


@pytest.fixture
def production(app, monkeypatch):
    """The session's app as production sees it: no development root-key file, passphrases asked for."""
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    monkeypatch.setitem(app.config, "MADOGUCHI_DEV_ROOT_KEY_PATH", None)


def test_h4_seals_init_writes_the_root_key_offline_and_root_sign_uses_it(app, db, catalogue, runner, production,
                                                                         tmp_path):
    refused = runner.invoke(args=["seals", "init"])
    assert refused.exit_code == 1 and "--root-key-out" in refused.output
    out = tmp_path / "root-ca.key.pem"
    created = runner.invoke(args=["seals", "init", "--root-key-out", str(out)],
                            input=f"{ROOT_PASSPHRASE}\n{ROOT_PASSPHRASE}\n")
    assert created.exit_code == 0, created.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert pki_core.key_protection(out.read_bytes())[0] == "scrypt"
    root_row = db.session.scalar(sa.select(SealCertificate).where(SealCertificate.kind == "root"))
    assert root_row.key_pem_enc is None  # the database holds no copy
    key = pki_core.decrypt_key(out.read_bytes(), ROOT_PASSPHRASE)
    root_cert = pki_core.load_cert(root_row.cert_pem.encode())
    assert key.public_key().public_numbers() == root_cert.public_key().public_numbers()

    root_crl = db.session.scalar(sa.select(CrlPublication).where(CrlPublication.issuer == "root"))
    assert root_crl.next_update - root_crl.this_update == dt.timedelta(days=396)  # 13 months

    wrong = runner.invoke(args=["seals", "root-sign", "--root-key", str(out), "--crl"], input="not it at all!!\n")
    assert wrong.exit_code == 1 and "cannot decrypt" in wrong.output
    signed = runner.invoke(args=["seals", "root-sign", "--root-key", str(out), "--crl", "--issuing-ca"],
                           input=f"{ROOT_PASSPHRASE}\n")
    assert signed.exit_code == 0, signed.output
    assert "new issuing CA" in signed.output and "root CRL 2 published" in signed.output
    issuing = db.session.scalars(sa.select(SealCertificate).where(SealCertificate.kind == "issuing")).all()
    assert len(issuing) == 2 and sum(row.is_current for row in issuing) == 1


def test_h4_every_seals_command_warns_30_days_before_the_root_crl_ends(app, db, pki, runner):
    assert "root CRL" not in runner.invoke(args=["seals", "root", "--out", "/dev/null"]).output
    latest = db.session.scalar(sa.select(CrlPublication).where(CrlPublication.issuer == "root"))
    latest.next_update = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    db.session.commit()
    result = runner.invoke(args=["seals", "root", "--out", "/dev/null"])
    assert result.exit_code == 0 and "warning: the root CRL ends on" in result.output
    latest.next_update = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    db.session.commit()
    assert "documents no longer verify" in runner.invoke(args=["seals", "rotate"]).output


def test_the_worker_republishes_the_issuing_crl_before_it_ends(app, db, pki, run_worker):
    latest = db.session.scalar(sa.select(CrlPublication).where(CrlPublication.issuer == "issuing"))
    latest.next_update = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    db.session.commit()
    run_worker()
    numbers = db.session.scalars(sa.select(CrlPublication.number).where(CrlPublication.issuer == "issuing")).all()
    assert sorted(numbers) == [1, 2]
