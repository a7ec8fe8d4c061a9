"""The seal PKI in the database, and sealing PDFs with it (worker only: web processes hold no private keys).

Keys are stored PKCS#8-encrypted (PBES2, scrypt) under MADOGUCHI_KEY_PASSPHRASE, which only worker
and command-line processes are given (app/config.py), or live in an HSM reached over PKCS#11
(MADOGUCHI_PKCS11_*). The worker keeps loaded signers in memory: parsing and decrypting a key for
every seal would cost more than the signature itself.

The root CA's key is never stored here: ``flask seals init`` writes it to a file (encrypted under a
passphrase of its own) for offline keeping, and ``flask seals root-sign`` is the operator's step that
uses it: a root CRL (valid ``ROOT_CRL_VALIDITY``) or a new issuing CA. Development keeps that file in
the instance folder, marked development-only.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

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
#: The issuing CA's CRL (staff and organisation seals): the worker republishes it before it ends.
CRL_VALIDITY = dt.timedelta(days=7)
CRL_REFRESH_BEFORE = dt.timedelta(days=3)
#: The root's CRL (issuing CAs) is signed by hand with the offline root key, so it lasts 13 months and
#: every `flask seals` command warns in the last 30 days.
ROOT_CRL_VALIDITY = dt.timedelta(days=396)
ROOT_CRL_WARNING = dt.timedelta(days=30)
#: Shortest passphrase accepted for the offline root key file.
ROOT_PASSPHRASE_MIN_LENGTH = 16
#: Bytes reserved for each CMS signature: an ECDSA signature, its chain and an RFC 3161 token fit.
SIGNATURE_RESERVATION = 16384

_signers: dict[str, object] = {}


class PkiMissing(DomainError):
    code = "pki_missing"
    status = 409


class KeysUnavailable(RuntimeError):
    """This process was not given the seal-key passphrase: a web process never is (app/config.py)."""


class RootKeyProblem(DomainError):
    """The offline root key file is missing, unreadable, or not this PKI's root."""

    code = "root_key"
    status = 400


def _passphrase() -> str:
    passphrase = current_app.config.get("MADOGUCHI_KEY_PASSPHRASE")
    if not passphrase:
        raise KeysUnavailable(
            f"a {current_app.config.get('MADOGUCHI_PROCESS', 'web')} process holds no seal keys "
            "(MADOGUCHI_KEY_PASSPHRASE is given only to the worker and the command line)")
    return passphrase


def _scrypt_cost() -> int:
    # Tests lower the cost (like PASSWORD_HASH_FAST); nothing in the environment can.
    return int(current_app.config.get("SEAL_KEY_SCRYPT_N") or pki.SCRYPT_N)


def encrypt_for_storage(key) -> bytes:
    return pki.encrypt_key(key, _passphrase(), cost=_scrypt_cost())


def crl_url(issuer: str = "issuing") -> str:
    name = "crl.der" if issuer == "issuing" else "root-crl.der"
    return f"{current_app.config['MADOGUCHI_BASE_URL']}/pki/{name}"


def _store(kind: str, issued: pki.Issued, *, staff_id: int | None = None, key_label: str | None = None
           ) -> SealCertificate:
    cert = issued.cert
    # The root's key never goes into the database (see the module docstring).
    key_pem = encrypt_for_storage(issued.key) if issued.key is not None and kind != "root" else None
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
    key = pki.decrypt_key(row.key_pem_enc, _passphrase()) if row.key_pem_enc else None
    return pki.Issued(pki.load_cert(row.cert_pem.encode()), key)


def has_pki() -> bool:
    return _current("root") is not None


def init_pki(*, root_key_out: Path | None = None, root_passphrase: str | None = None) -> list[str]:
    """Create root → issuing CA → organisation seal, publish both CRLs, and write the root's key to
    ``root_key_out`` encrypted under ``root_passphrase`` (never to the database). Idempotent.

    Development may leave both out: the key then goes to MADOGUCHI_DEV_ROOT_KEY_PATH under the
    development passphrase. Production must give both.
    """
    if has_pki():
        return ["seal PKI already present"]
    config = current_app.config
    root_key_out, root_passphrase = _root_key_target(root_key_out, root_passphrase, new=True)
    if root_key_out.exists():
        if str(root_key_out) != config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
            raise RootKeyProblem(f"{root_key_out} exists already: choose a new file for the root key")
        root_key_out.unlink()  # development: the key of a database that is gone
    municipality = config["MADOGUCHI_MUNICIPALITY"]
    root = pki.new_root(organization=municipality, common_name=f"{municipality} 電子印 ルート認証局")
    issuing = pki.new_issuing_ca(root, organization=municipality, common_name=f"{municipality} 電子印 発行認証局",
                                 crl_url=crl_url("root"))
    org = pki.new_org_seal(issuing, organization=municipality,
                           organization_identifier=config["MADOGUCHI_ORGANIZATION_ID"], crl_url=crl_url())
    _write_root_key(root_key_out, pki.encrypt_key(root.key, root_passphrase, cost=_scrypt_cost()))
    _store("root", root)
    _store("issuing", issuing)
    _store("org", org)
    publish_root_crl(root)
    publish_crl()
    lines = ["seal PKI created: root, issuing CA, organisation seal",
             f"root CA key written to {root_key_out}: keep it offline; the database holds no copy"]
    for staff in db.session.scalars(sa.select(Staff).where(Staff.is_active.is_(True)).order_by(Staff.id)):
        if _current("staff", staff.id) is None:
            issue_staff_certificate(staff)
        lines.append(f"certificate issued to {staff.email}")
    return lines


def _root_key_target(path: Path | None, passphrase: str | None, *, new: bool) -> tuple[Path, str]:
    config = current_app.config
    if path is None:
        if not config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
            raise RootKeyProblem("production keeps the root CA key offline: name the file with --root-key-out")
        path = Path(config["MADOGUCHI_DEV_ROOT_KEY_PATH"])
    if passphrase is None:
        if not config.get("MADOGUCHI_DEV_ROOT_KEY_PATH"):
            raise RootKeyProblem("a passphrase for the root key file is needed")
        passphrase = _passphrase()  # development only: the development passphrase
    elif new and len(passphrase) < ROOT_PASSPHRASE_MIN_LENGTH:
        raise RootKeyProblem(f"the root key's passphrase must have at least {ROOT_PASSPHRASE_MIN_LENGTH} characters")
    return Path(path), passphrase


def _write_root_key(path: Path, pem: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never over an existing key
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())


def load_root(path: Path | None = None, passphrase: str | None = None) -> pki.Issued:
    """The root CA with its key from the offline file (development: the instance folder's), checked
    against the root certificate in the database."""
    path, passphrase = _root_key_target(path, passphrase, new=False)
    try:
        key = pki.decrypt_key(path.read_bytes(), passphrase)
    except FileNotFoundError as exc:
        raise RootKeyProblem(f"no root key file at {path}") from exc
    except (ValueError, TypeError) as exc:
        raise RootKeyProblem(f"{path}: cannot decrypt the root key (wrong passphrase or not a key file)") from exc
    cert = root_certificate()
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise RootKeyProblem(f"{path} holds another root's key, not this PKI's")
    return pki.Issued(cert, key)


def publish_root_crl(root: pki.Issued) -> CrlPublication:
    """The root's CRL (revoked issuing CAs), signed with the root key the caller loaded; 13 months."""
    now = utcnow()
    revoked = [(int(row.serial, 16), row.revoked_at, REASONS[row.revocation_reason])
               for row in db.session.scalars(sa.select(SealCertificate).where(
                   SealCertificate.revoked_at.is_not(None), SealCertificate.kind == "issuing"))]
    return _publish("root", root, revoked, now, now + ROOT_CRL_VALIDITY)


def new_issuing_ca(root: pki.Issued) -> SealCertificate:
    """A new issuing CA under the root (the old one stays for verification); later staff certificates
    and organisation seals are issued by it."""
    municipality = current_app.config["MADOGUCHI_MUNICIPALITY"]
    issued = pki.new_issuing_ca(root, organization=municipality, common_name=f"{municipality} 電子印 発行認証局",
                                crl_url=crl_url("root"))
    for old in db.session.scalars(sa.select(SealCertificate).where(SealCertificate.kind == "issuing",
                                                                   SealCertificate.is_current.is_(True))):
        old.is_current = False
    row = _store("issuing", issued)
    publish_crl()
    return row


def root_crl_warning(now: dt.datetime | None = None) -> str | None:
    """What every ``flask seals`` command says when the root CRL ends within 30 days (or has ended)."""
    latest = db.session.scalar(sa.select(CrlPublication).where(CrlPublication.issuer == "root")
                               .order_by(CrlPublication.number.desc()).limit(1))
    if latest is None:
        return None
    now = now or utcnow()
    ends = latest.next_update
    if ends <= now:
        return (f"the root CRL ended on {ends:%Y-%m-%d}: documents no longer verify as trusted; "
                "sign a new one now with `flask seals root-sign --root-key FILE --crl`")
    if ends - now <= ROOT_CRL_WARNING:
        return (f"the root CRL ends on {ends:%Y-%m-%d} ({(ends - now).days} days): sign a new one with "
                "`flask seals root-sign --root-key FILE --crl` before then")
    return None


def root_key_in_database() -> bool:
    """A root key stored by an earlier version (before the root went offline): `flask seals root-offline`."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(SealCertificate).where(
        SealCertificate.kind == "root", SealCertificate.key_pem_enc.is_not(None))) > 0


def take_root_offline(root_key_out: Path | None, root_passphrase: str | None) -> Path:
    """Move a root key kept in the database by an earlier version to an offline file, and delete it here."""
    row = _current("root")
    if row is None or row.key_pem_enc is None:
        raise RootKeyProblem("the database holds no root key")
    root_key_out, root_passphrase = _root_key_target(root_key_out, root_passphrase, new=True)
    key = pki.decrypt_key(row.key_pem_enc, _passphrase())
    _write_root_key(root_key_out, pki.encrypt_key(key, root_passphrase, cost=_scrypt_cost()))
    for stored in db.session.scalars(sa.select(SealCertificate).where(SealCertificate.kind == "root")):
        stored.key_pem_enc = None
    db.session.flush()
    return root_key_out


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


def publish_crl() -> CrlPublication:
    """Publish a fresh CRL of the issuing CA (staff and organisation seal certificates); the worker or
    the command line (it needs the issuing CA's key)."""
    now = utcnow()
    revoked = [(int(row.serial, 16), row.revoked_at, REASONS[row.revocation_reason])
               for row in db.session.scalars(sa.select(SealCertificate).where(
                   SealCertificate.revoked_at.is_not(None), SealCertificate.kind.in_(("staff", "org"))))]
    return _publish("issuing", _issued(_current("issuing")), revoked, now, now + CRL_VALIDITY)


def _publish(issuer: str, signer: pki.Issued, revoked: list, now: dt.datetime, until: dt.datetime) -> CrlPublication:
    number = (db.session.scalar(sa.select(sa.func.max(CrlPublication.number))
                                .where(CrlPublication.issuer == issuer)) or 0) + 1
    der = pki.make_crl(signer, revoked, this_update=now, next_update=until, crl_number=number)
    publication = CrlPublication(issuer=issuer, number=number, crl_der=der, this_update=now, next_update=until)
    db.session.add(publication)
    db.session.flush()
    return publication


def crl_refresh_due(now: dt.datetime | None = None) -> bool:
    """Whether the issuing CA's CRL ends within CRL_REFRESH_BEFORE (the worker then publishes a new one)."""
    if not has_pki():
        return False
    ends = db.session.scalar(sa.select(sa.func.max(CrlPublication.next_update))
                             .where(CrlPublication.issuer == "issuing"))
    return ends is None or ends - (now or utcnow()) <= CRL_REFRESH_BEFORE


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
