"""The seal PKI in the database, and sealing PDFs with it (worker only: web processes hold no private keys).

Keys are stored PKCS#8-encrypted under MADOGUCHI_KEY_PASSPHRASE, or live in an HSM reached over
PKCS#11 (MADOGUCHI_PKCS11_*). The worker keeps loaded signers in memory: parsing and decrypting a
key for every seal would cost more than the signature itself.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from cryptography import x509
from flask import current_app

from app.accounts.models import Staff
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.extensions import db
from app.i18n import JST
from app.seals import pki
from app.seals.imprint import imprint_svg
from app.seals.models import CrlPublication, Imprint, SealCertificate

REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
}
CRL_VALIDITY = dt.timedelta(days=7)
#: Bytes reserved for each CMS signature: an ECDSA signature, its chain and an RFC 3161 token fit.
SIGNATURE_RESERVATION = 16384

_signers: dict[str, object] = {}


class PkiMissing(DomainError):
    code = "pki_missing"
    status = 409


def crl_url(issuer: str = "issuing") -> str:
    name = "crl.der" if issuer == "issuing" else "root-crl.der"
    return f"{current_app.config['MADOGUCHI_BASE_URL']}/pki/{name}"


def _store(kind: str, issued: pki.Issued, *, staff_id: int | None = None, key_label: str | None = None
           ) -> SealCertificate:
    cert = issued.cert
    key_pem = (pki.encrypt_key(issued.key, current_app.config["MADOGUCHI_KEY_PASSPHRASE"])
               if issued.key is not None else None)
    row = SealCertificate(
        kind=kind, staff_id=staff_id, serial=format(cert.serial_number, "x"), fingerprint=pki.fingerprint(cert),
        subject=cert.subject.rfc4514_string()[:400], cert_pem=pki.cert_pem(cert).decode(), key_pem_enc=key_pem,
        key_label=key_label, not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _current(kind: str, staff_id: int | None = None) -> SealCertificate | None:
    query = sa.select(SealCertificate).where(SealCertificate.kind == kind, SealCertificate.is_current.is_(True),
                                             SealCertificate.revoked_at.is_(None))
    if staff_id is not None:
        query = query.where(SealCertificate.staff_id == staff_id)
    return db.session.scalar(query.order_by(SealCertificate.id.desc()).limit(1))


def _issued(row: SealCertificate) -> pki.Issued:
    key = pki.decrypt_key(row.key_pem_enc, current_app.config["MADOGUCHI_KEY_PASSPHRASE"]) if row.key_pem_enc else None
    return pki.Issued(pki.load_cert(row.cert_pem.encode()), key)


def has_pki() -> bool:
    return _current("root") is not None


def init_pki() -> list[str]:
    """Create root → issuing CA → organisation seal, and publish an empty CRL. Idempotent."""
    if has_pki():
        return ["seal PKI already present"]
    config = current_app.config
    municipality = config["MADOGUCHI_MUNICIPALITY"]
    root = pki.new_root(organization=municipality, common_name=f"{municipality} 電子印 ルート認証局")
    issuing = pki.new_issuing_ca(root, organization=municipality, common_name=f"{municipality} 電子印 発行認証局",
                                 crl_url=crl_url("root"))
    org = pki.new_org_seal(issuing, organization=municipality,
                           organization_identifier=config["MADOGUCHI_ORGANIZATION_ID"], crl_url=crl_url())
    _store("root", root)
    _store("issuing", issuing)
    _store("org", org)
    publish_crl()
    lines = ["seal PKI created: root, issuing CA, organisation seal"]
    for staff in db.session.scalars(sa.select(Staff).where(Staff.is_active.is_(True)).order_by(Staff.id)):
        if _current("staff", staff.id) is None:
            issue_staff_certificate(staff)
        lines.append(f"certificate issued to {staff.email}")
    return lines


def root_certificate() -> x509.Certificate:
    row = _current("root")
    if row is None:
        raise PkiMissing("no seal PKI yet: run `flask seals init`")
    return pki.load_cert(row.cert_pem.encode())


def chain_certificates() -> list[x509.Certificate]:
    """Every issuing CA certificate, current or not, so old seals keep verifying after a rotation."""
    rows = db.session.scalars(sa.select(SealCertificate).where(SealCertificate.kind == "issuing"))
    return [pki.load_cert(row.cert_pem.encode()) for row in rows]


def issue_staff_certificate(staff: Staff) -> SealCertificate:
    """A new key and certificate for a staff member (on their account's creation, or on rotation)."""
    issuing_row = _current("issuing")
    if issuing_row is None:
        raise PkiMissing("no seal PKI yet: run `flask seals init`")
    for old in db.session.scalars(sa.select(SealCertificate).where(
            SealCertificate.staff_id == staff.id, SealCertificate.is_current.is_(True))):
        old.is_current = False
    config = current_app.config
    public_key, key_label = None, None
    if config["MADOGUCHI_PKCS11_MODULE"]:
        # The key is made inside the HSM and never leaves it; only its certificate is stored here.
        from app.seals import sign  # pyHanko: loaded only where keys are used (worker, CLI), never in web


        key_label = f"madoguchi-staff-{staff.id}-{secrets.token_hex(4)}"
        public_key = sign.pkcs11_generate_key(config["MADOGUCHI_PKCS11_MODULE"], config["MADOGUCHI_PKCS11_TOKEN"],
                                              config["MADOGUCHI_PKCS11_PIN"], key_label)
    issued = pki.new_staff_cert(
        _issued(issuing_row), name=staff.display_name, office=staff.office.name_ja, email=staff.email,
        organization=config["MADOGUCHI_MUNICIPALITY"], crl_url=crl_url(), public_key=public_key,
    )
    row = _store("staff", issued, staff_id=staff.id, key_label=key_label)
    db.session.add(Imprint(staff_id=staff.id, certificate_id=row.id, svg=staff_imprint_svg(staff)))
    db.session.flush()
    return row


def rotate(*, staff: Staff | None = None) -> SealCertificate:
    """A new key for a staff member, or for the organisation seal; old certificates stay valid for verification."""
    if staff is not None:
        return issue_staff_certificate(staff)
    issuing_row = _current("issuing")
    old = _current("org")
    if issuing_row is None or old is None:
        raise PkiMissing("no seal PKI yet: run `flask seals init`")
    config = current_app.config
    issued = pki.new_org_seal(_issued(issuing_row), organization=config["MADOGUCHI_MUNICIPALITY"],
                              organization_identifier=config["MADOGUCHI_ORGANIZATION_ID"], crl_url=crl_url())
    old.is_current = False
    return _store("org", issued)


def revoke(fingerprint_or_email: str, reason: str) -> list[SealCertificate]:
    """Revoke a certificate (by fingerprint) or every certificate of a staff member (by e-mail); publish a CRL."""
    if reason not in REASONS:
        raise DomainError(f"unknown reason {reason!r}; one of {', '.join(REASONS)}")
    query = sa.select(SealCertificate).where(SealCertificate.revoked_at.is_(None))
    if "@" in fingerprint_or_email:
        query = query.join(Staff, SealCertificate.staff_id == Staff.id).where(
            Staff.email == fingerprint_or_email.lower())
    else:
        query = query.where(SealCertificate.fingerprint == fingerprint_or_email.lower())
    rows = list(db.session.scalars(query.where(SealCertificate.kind.in_(("staff", "org")))))
    if not rows:
        raise NotFound(f"no unrevoked seal certificate for {fingerprint_or_email}")
    now = utcnow()
    for row in rows:
        row.revoked_at, row.revocation_reason, row.is_current = now, reason, False
    db.session.flush()
    publish_crl()
    return rows


def publish_crl() -> None:
    """Publish fresh CRLs of the issuing CA (staff, organisation seal) and of the root (issuing CAs)."""
    now = utcnow()
    for issuer, kinds in (("issuing", ("staff", "org")), ("root", ("issuing",))):
        revoked = [
            (int(row.serial, 16), row.revoked_at, REASONS[row.revocation_reason])
            for row in db.session.scalars(sa.select(SealCertificate).where(
                SealCertificate.revoked_at.is_not(None), SealCertificate.kind.in_(kinds)))
        ]
        number = (db.session.scalar(sa.select(sa.func.max(CrlPublication.number))
                                    .where(CrlPublication.issuer == issuer)) or 0) + 1
        der = pki.make_crl(_issued(_current(issuer)), revoked, this_update=now, next_update=now + CRL_VALIDITY,
                           crl_number=number)
        db.session.add(CrlPublication(issuer=issuer, number=number, crl_der=der, this_update=now,
                                      next_update=now + CRL_VALIDITY))
    db.session.flush()


def latest_crl(issuer: str = "issuing") -> bytes | None:
    return db.session.scalar(sa.select(CrlPublication.crl_der).where(CrlPublication.issuer == issuer)
                             .order_by(CrlPublication.number.desc()).limit(1))


def all_latest_crls() -> list[bytes]:
    return [crl for crl in (latest_crl("issuing"), latest_crl("root")) if crl]


# ---- signers (worker) ---------------------------------------------------------------------------------


def signer_for(row: SealCertificate):
    """A pyHanko signer for a certificate's key, loaded once per worker process."""
    from app.seals import sign  # pyHanko: loaded only where keys are used (worker, CLI), never in web

    cached = _signers.get(row.fingerprint)
    if cached is not None:
        return cached
    cert = pki.load_cert(row.cert_pem.encode())
    config = current_app.config
    if row.key_label:
        signer = sign.pkcs11_signer(config["MADOGUCHI_PKCS11_MODULE"], config["MADOGUCHI_PKCS11_TOKEN"],
                                    config["MADOGUCHI_PKCS11_PIN"], row.key_label, cert, chain_certificates())
    else:
        signer = sign.key_signer(cert, _issued(row).key, chain_certificates())
    _signers[row.fingerprint] = signer
    return signer


def current_org_certificate() -> SealCertificate:
    row = _current("org")
    if row is None:
        raise PkiMissing("no seal PKI yet: run `flask seals init`")
    return row


def current_staff_certificate_or_none(staff: Staff) -> SealCertificate | None:
    return _current("staff", staff.id)


def current_staff_certificate(staff: Staff) -> SealCertificate:
    """The staff member's current certificate; one is issued now if the account predates the PKI."""
    row = _current("staff", staff.id)
    return row if row is not None else issue_staff_certificate(staff)


def staff_imprint_svg(staff: Staff) -> str:
    """The staff member's date stamp (日付印) for today in Japan: office, date, surname."""
    parts = staff.display_name.split()
    surname = parts[0] if parts else staff.display_name
    return imprint_svg(surname, staff.office.name_ja, utcnow().astimezone(JST).date())


def seal_pdf(pdf: bytes, field_name: str, certificate: SealCertificate, stamp: bytes, *, lock: bool,
             reason: str) -> bytes:
    """``pdf`` with the empty signature field ``field_name`` signed (PAdES, B-T with a timestamp authority)
    by ``certificate``'s key, showing ``stamp`` (a one-page PDF); ``lock`` makes it the last signature."""
    from app.seals import sign  # pyHanko: loaded only where keys are used (worker, CLI), never in web

    config = current_app.config
    return sign.sign_field(
        pdf, field_name, signer_for(certificate), stamp_pdf=stamp, timestamp_url=config["MADOGUCHI_TSA_URL"],
        lock=lock, reason=reason, location=config["MADOGUCHI_MUNICIPALITY"],
        # A fixed reservation skips pyHanko's dry-run signature that only measures the size (~10 ms).
        bytes_reserved=SIGNATURE_RESERVATION,
    )
