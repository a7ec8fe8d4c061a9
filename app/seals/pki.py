"""The service's own seal PKI, made with ``cryptography``: ECDSA P-256 / SHA-256 everywhere.

root ─▶ issuing CA (pathlen 0) ─▶ organisation seal (O + organizationIdentifier, "架空市 電子公印")
                               └▶ staff or role certificates (CN, OU=office, O, e-mail in the SAN)

Every certificate carries SKI/AKI and basic constraints; everything below the root carries a CRL
distribution point (``crl_url``), so a validator in hard-fail mode wants a CRL for each issuer: the
root's CRL (covering issuing CAs) and the issuing CA's CRL (covering seals and staff). Signing
certificates carry digitalSignature + nonRepudiation (contentCommitment): pyHanko's validator requires
nonRepudiation by default, NSS (pdfsig) accepts either; they carry no extended key usage on purpose
(an EKU would restrict them).

Issuance for a key held elsewhere (an HSM): pass ``public_key=``; the returned ``Issued`` has
``key=None``. No Flask imports.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import algos, core
from asn1crypto import pem as asn1_pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.x509.oid import NameOID

__all__ = [
    "Issued",
    "cert_pem",
    "decrypt_key",
    "encrypt_key",
    "fingerprint",
    "key_protection",
    "load_cert",
    "make_crl",
    "new_issuing_ca",
    "new_key",
    "new_org_seal",
    "new_root",
    "new_staff_cert",
]

CURVE = ec.SECP256R1()
HASH = hashes.SHA256
# Certificates start a little in the past so a verifier whose clock lags does not see them as not yet
# valid.
BACKDATE = timedelta(minutes=5)


@dataclass
class Issued:
    """A certificate and, when this process holds it, its private key (``None`` for HSM keys)."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | None


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVE)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _name(
    *,
    common_name: str,
    organization: str,
    office: str | None = None,
    organization_identifier: str | None = None,
    country: str = "JP",
) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if office:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, office))
    if organization_identifier:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_identifier))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: x509.Name,
    issuer_name: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    valid_days: int,
    not_before: datetime | None,
    not_after_cap: datetime | None,
) -> x509.CertificateBuilder:
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != CURVE.name:
        raise ValueError("seal certificates are for EC P-256 keys only")
    start = not_before or (_now() - BACKDATE)
    end = start + timedelta(days=valid_days)
    if not_after_cap is not None and end > not_after_cap:
        end = not_after_cap  # never outlive the issuer
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _issue(
    issuer: Issued,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    ca: bool,
    path_length: int | None,
    crl_url: str,
    valid_days: int,
    not_before: datetime | None,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> x509.Certificate:
    if issuer.key is None:
        raise ValueError("the issuer's private key is needed to issue a certificate")
    builder = _builder(
        subject,
        issuer.cert.subject,
        public_key,
        valid_days=valid_days,
        not_before=not_before,
        not_after_cap=issuer.cert.not_valid_after_utc,
    )
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(_key_usage(ca=ca), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    )
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer.key, HASH())


def _with_key(
    public_key: ec.EllipticCurvePublicKey | None,
) -> tuple[ec.EllipticCurvePrivateKey | None, ec.EllipticCurvePublicKey]:
    if public_key is not None:
        return None, public_key
    key = new_key()
    return key, key.public_key()


def new_root(
    *,
    organization: str,
    common_name: str,
    valid_days: int = 3650,
    not_before: datetime | None = None,
) -> Issued:
    """A self-signed root (keyCertSign + cRLSign, no path length limit)."""
    key = new_key()
    name = _name(common_name=common_name, organization=organization)
    cert = (
        _builder(name, name, key.public_key(), valid_days=valid_days, not_before=not_before, not_after_cap=None)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, HASH())
    )
    return Issued(cert, key)


def new_issuing_ca(
    root: Issued,
    *,
    organization: str,
    common_name: str,
    crl_url: str,
    valid_days: int = 1825,
    not_before: datetime | None = None,
    public_key: ec.EllipticCurvePublicKey | None = None,
) -> Issued:
    """An issuing CA under ``root`` (pathlen 0: it issues only end-entity certificates).

    ``crl_url`` is where the root's CRL (which covers this CA) is published.
    """
    key, pub = _with_key(public_key)
    cert = _issue(
        root,
        _name(common_name=common_name, organization=organization),
        pub,
        ca=True,
        path_length=0,
        crl_url=crl_url,
        valid_days=valid_days,
        not_before=not_before,
    )
    return Issued(cert, key)


def new_org_seal(
    issuer: Issued,
    *,
    organization: str,
    organization_identifier: str,
    crl_url: str,
    common_name: str | None = None,
    valid_days: int = 730,
    not_before: datetime | None = None,
    public_key: ec.EllipticCurvePublicKey | None = None,
) -> Issued:
    """The organisation's e-seal certificate: a legal person, no natural person in the subject.

    Subject ``C=JP, O=<organization>, organizationIdentifier=<e.g. NTRJP-0000000000000>,
    CN=<common_name, default "<organization> 電子公印">``.
    """
    key, pub = _with_key(public_key)
    cert = _issue(
        issuer,
        _name(
            common_name=common_name or f"{organization} 電子公印",
            organization=organization,
            organization_identifier=organization_identifier,
        ),
        pub,
        ca=False,
        path_length=None,
        crl_url=crl_url,
        valid_days=valid_days,
        not_before=not_before,
    )
    return Issued(cert, key)


def new_staff_cert(
    issuer: Issued,
    *,
    name: str,
    office: str,
    email: str,
    organization: str,
    crl_url: str,
    valid_days: int = 397,
    not_before: datetime | None = None,
    public_key: ec.EllipticCurvePublicKey | None = None,
) -> Issued:
    """A clerk's or approver's (or a role's, 職責) signing certificate: ``CN=name, OU=office, O=org``.

    The e-mail address goes in the subjectAltName (rfc822Name), not in the DN.
    """
    key, pub = _with_key(public_key)
    extra: list[tuple[x509.ExtensionType, bool]] = []
    if email:
        extra.append((x509.SubjectAlternativeName([x509.RFC822Name(email)]), False))
    cert = _issue(
        issuer,
        _name(common_name=name, organization=organization, office=office),
        pub,
        ca=False,
        path_length=None,
        crl_url=crl_url,
        valid_days=valid_days,
        not_before=not_before,
        extra=extra,
    )
    return Issued(cert, key)


# --- keys at rest ---------------------------------------------------------------------------------
# PKCS#8 EncryptedPrivateKeyInfo with PBES2: scrypt (RFC 7914 §7) derives an AES-256-CBC key from the
# passphrase. ``cryptography`` reads such files but writes only PBKDF2 with 2,048 iterations, which a
# stolen database lets an attacker guess against cheaply; so the structure is built here with
# asn1crypto (which has no scrypt parameters of its own: the few classes below are RFC 7914's).

#: scrypt cost: N = 2**17, r = 8, p = 1 (128 MiB, about half a second; OWASP's scrypt minimum is 2**17).
#: A key is decrypted once per worker process and then kept, so the cost is paid rarely.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_PBES2 = "1.2.840.113549.1.5.13"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"


class _ScryptParams(core.Sequence):
    _fields = [
        ("salt", core.OctetString),
        ("cost_parameter", core.Integer),
        ("block_size", core.Integer),
        ("parallelization_parameter", core.Integer),
        ("key_length", core.Integer, {"optional": True}),
    ]


class _AnyAlgorithm(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _Pbes2Params(core.Sequence):
    _fields = [("key_derivation_func", _AnyAlgorithm), ("encryption_scheme", algos.EncryptionAlgorithm)]


class _EncryptedPrivateKeyInfo(core.Sequence):
    _fields = [("encryption_algorithm", _AnyAlgorithm), ("encrypted_data", core.OctetString)]


def encrypt_key(key: ec.EllipticCurvePrivateKey, passphrase: str, *, cost: int = SCRYPT_N) -> bytes:
    """PKCS#8 PEM, encrypted with PBES2 (scrypt, AES-256-CBC) under ``passphrase``.

    ``cost`` is scrypt's N (a power of two); only tests lower it.
    """
    if not passphrase:
        raise ValueError("a passphrase is required to store a private key")
    if cost < 2**10 or cost & (cost - 1):
        raise ValueError("the scrypt cost must be a power of two of at least 1024")
    salt, iv = os.urandom(16), os.urandom(16)
    derived = Scrypt(salt=salt, length=32, n=cost, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode())
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(derived), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    scrypt_params = _ScryptParams({"salt": salt, "cost_parameter": cost, "block_size": SCRYPT_R,
                                   "parallelization_parameter": SCRYPT_P, "key_length": 32})
    pbes2 = _Pbes2Params({
        "key_derivation_func": {"algorithm": _SCRYPT, "parameters": scrypt_params},
        "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
    })
    info = _EncryptedPrivateKeyInfo({
        "encryption_algorithm": {"algorithm": _PBES2, "parameters": pbes2},
        "encrypted_data": encrypted,
    })
    return asn1_pem.armor("ENCRYPTED PRIVATE KEY", info.dump())


def decrypt_key(pem: bytes, passphrase: str) -> ec.EllipticCurvePrivateKey:
    """Inverse of :func:`encrypt_key` (``cryptography`` reads PBES2 with scrypt or PBKDF2); a wrong
    passphrase raises ``ValueError``."""
    if not passphrase:
        raise ValueError("no passphrase: this process holds no seal keys")
    key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC private key")
    return key


def key_protection(pem: bytes) -> tuple[str, int]:
    """How an encrypted PKCS#8 key is protected: ``("scrypt", N)`` or ``("pbkdf2", iterations)``."""
    _label, _headers, der = asn1_pem.unarmor(pem)
    info = _EncryptedPrivateKeyInfo.load(der)
    if info["encryption_algorithm"]["algorithm"].dotted != _PBES2:
        return (info["encryption_algorithm"]["algorithm"].dotted, 0)
    pbes2 = _Pbes2Params.load(info["encryption_algorithm"]["parameters"].dump())
    kdf = pbes2["key_derivation_func"]
    if kdf["algorithm"].dotted == _SCRYPT:
        return ("scrypt", _ScryptParams.load(kdf["parameters"].dump())["cost_parameter"].native)
    if kdf["algorithm"].dotted == "1.2.840.113549.1.5.12":
        return ("pbkdf2", algos.Pbkdf2Params.load(kdf["parameters"].dump())["iteration_count"].native)
    return (kdf["algorithm"].dotted, 0)


def key_is_strongly_protected(pem: bytes) -> bool:
    kdf, cost = key_protection(pem)
    return (kdf == "scrypt" and cost >= SCRYPT_N) or (kdf == "pbkdf2" and cost >= 600_000)


# --- revocation -----------------------------------------------------------------------------------


def make_crl(
    issuer: Issued,
    revoked: list[tuple[int, datetime, x509.ReasonFlags]],
    *,
    this_update: datetime,
    next_update: datetime,
    crl_number: int,
) -> bytes:
    """A DER CRL signed by ``issuer`` listing ``(serial, revoked_at, reason)``.

    Revocation dates are UTCTime: whole seconds (fractions are dropped).
    """
    if issuer.key is None:
        raise ValueError("the issuer's private key is needed to sign a CRL")
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False
        )
    )
    for serial, revoked_at, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
        if reason is not x509.ReasonFlags.unspecified:  # RFC 5280 §5.3.1: omit rather than "unspecified"
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, HASH()).public_bytes(serialization.Encoding.DER)


# --- helpers --------------------------------------------------------------------------------------


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def load_cert(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lower-case hex."""
    return hashlib.sha256(cert_der(cert)).hexdigest()
