"""The seal PKI: certificate profiles, keys at rest, CRLs. Pure: no app, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from app.seals import pki
from tests.seals.conftest import CRL_URL, MUNICIPALITY, ORG_ID, ROOT_CRL_URL


def _ext(cert: x509.Certificate, cls):
    return cert.extensions.get_extension_for_class(cls)


def _attr(cert: x509.Certificate, oid) -> str:
    return cert.subject.get_attributes_for_oid(oid)[0].value


def test_root_is_a_self_signed_p256_ca(seal_pki):
    root = seal_pki.root.cert
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp256r1"
    assert root.signature_hash_algorithm.name == "sha256"
    bc = _ext(root, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length is None
    ku = _ext(root, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
    ski = _ext(root, x509.SubjectKeyIdentifier).value.digest
    assert _ext(root, x509.AuthorityKeyIdentifier).value.key_identifier == ski
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days == 3650


def test_issuing_ca_has_pathlen_0_and_points_at_the_roots_crl(seal_pki):
    ica = seal_pki.issuing.cert
    ica.verify_directly_issued_by(seal_pki.root.cert)
    bc = _ext(ica, x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    assert _ext(ica, x509.KeyUsage).value.key_cert_sign
    assert _ext(ica, x509.AuthorityKeyIdentifier).value.key_identifier == (
        _ext(seal_pki.root.cert, x509.SubjectKeyIdentifier).value.digest
    )
    dp = _ext(ica, x509.CRLDistributionPoints).value[0]
    assert dp.full_name[0].value == ROOT_CRL_URL


def test_org_seal_profile(seal_pki):
    seal = seal_pki.org.cert
    seal.verify_directly_issued_by(seal_pki.issuing.cert)
    assert _attr(seal, NameOID.ORGANIZATION_NAME) == MUNICIPALITY
    assert _attr(seal, NameOID.ORGANIZATION_IDENTIFIER) == ORG_ID
    assert seal.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))[0].value == ORG_ID
    assert _attr(seal, NameOID.COMMON_NAME) == "架空市 電子公印"
    assert _attr(seal, NameOID.COUNTRY_NAME) == "JP"
    assert not seal.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ku = _ext(seal, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not _ext(seal, x509.BasicConstraints).value.ca
    assert _ext(seal, x509.CRLDistributionPoints).value[0].full_name[0].value == CRL_URL
    with pytest.raises(x509.ExtensionNotFound):  # no EKU: it would restrict NSS and pyHanko
        _ext(seal, x509.ExtendedKeyUsage)
    assert (seal.not_valid_after_utc - seal.not_valid_before_utc).days == 730


def test_staff_cert_profile(seal_pki):
    cert = seal_pki.clerk.cert
    cert.verify_directly_issued_by(seal_pki.issuing.cert)
    assert _attr(cert, NameOID.COMMON_NAME) == "山田 太郎"
    assert _attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == "市民課"
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == MUNICIPALITY
    san = _ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["yamada@city.example.jp"]
    ku = _ext(cert, x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment
    assert cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 397


def test_certificates_never_outlive_their_issuer(seal_pki):
    short = pki.new_issuing_ca(
        seal_pki.root, organization=MUNICIPALITY, common_name="short", crl_url=ROOT_CRL_URL, valid_days=10
    )
    leaf = pki.new_org_seal(short, organization=MUNICIPALITY, organization_identifier=ORG_ID, crl_url=CRL_URL)
    assert leaf.cert.not_valid_after_utc == short.cert.not_valid_after_utc


def test_issue_for_an_external_public_key(seal_pki):
    external = ec.generate_private_key(ec.SECP256R1())
    issued = pki.new_staff_cert(
        seal_pki.issuing, name="HSM 鍵", office="市民課", email="", organization=MUNICIPALITY, crl_url=CRL_URL,
        public_key=external.public_key(),
    )
    assert issued.key is None
    assert issued.cert.public_key() == external.public_key()
    with pytest.raises(x509.ExtensionNotFound):  # no e-mail, no SAN
        _ext(issued.cert, x509.SubjectAlternativeName)
    seal = pki.new_org_seal(
        seal_pki.issuing, organization=MUNICIPALITY, organization_identifier=ORG_ID, crl_url=CRL_URL,
        public_key=external.public_key(),
    )
    assert seal.key is None and seal.cert.public_key() == external.public_key()
    with pytest.raises(ValueError, match="issuer's private key"):
        pki.new_staff_cert(issued, name="x", office="y", email="", organization="z", crl_url=CRL_URL)
    with pytest.raises(ValueError, match="P-256"):
        pki.new_staff_cert(
            seal_pki.issuing, name="x", office="y", email="", organization="z", crl_url=CRL_URL,
            public_key=ec.generate_private_key(ec.SECP384R1()).public_key(),
        )


def test_keys_at_rest_are_encrypted(seal_pki):
    pem = pki.encrypt_key(seal_pki.clerk.key, "correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = pki.decrypt_key(pem, "correct horse")
    assert key.private_numbers() == seal_pki.clerk.key.private_numbers()
    with pytest.raises(ValueError):
        pki.decrypt_key(pem, "wrong")
    with pytest.raises(ValueError):
        pki.encrypt_key(seal_pki.clerk.key, "")


def test_crl(seal_pki):
    now = datetime.now(UTC).replace(microsecond=0)
    revoked = [
        (seal_pki.clerk.cert.serial_number, now - timedelta(hours=1), x509.ReasonFlags.affiliation_changed),
        (12345, now - timedelta(days=2), x509.ReasonFlags.unspecified),
    ]
    der = pki.make_crl(
        seal_pki.issuing, revoked, this_update=now, next_update=now + timedelta(days=7), crl_number=42
    )
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(seal_pki.issuing.cert.public_key())
    assert crl.issuer == seal_pki.issuing.cert.subject
    assert crl.last_update_utc == now and crl.next_update_utc == now + timedelta(days=7)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 42
    assert crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    entry = crl.get_revoked_certificate_by_serial_number(seal_pki.clerk.cert.serial_number)
    assert entry.revocation_date_utc == now - timedelta(hours=1)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.affiliation_changed
    )
    other = crl.get_revoked_certificate_by_serial_number(12345)
    with pytest.raises(x509.ExtensionNotFound):  # "unspecified" is left out (RFC 5280 §5.3.1)
        other.extensions.get_extension_for_class(x509.CRLReason)
    assert crl.get_revoked_certificate_by_serial_number(seal_pki.approver.cert.serial_number) is None


def test_helpers(seal_pki):
    cert = seal_pki.org.cert
    pem = pki.cert_pem(cert)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert pki.load_cert(pem) == cert
    assert pki.load_cert(pki.cert_der(cert)) == cert
    fp = pki.fingerprint(cert)
    assert len(fp) == 64 and fp == fp.lower()
    assert bytes.fromhex(fp) == cert.fingerprint(hashes.SHA256())
