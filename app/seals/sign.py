"""PAdES signing of approval documents with pyHanko (pinned 0.38.0). No Flask imports.

The life of a document here:

1. ``add_signature_fields`` — once, right after rendering, before any signature: ONE incremental
   update that adds every empty signature field (one per approval of the route, plus the organisation
   seal). Page content must never change after the first signature (pyHanko #259), and a field
   added later would be an extra revision that the earlier signatures must tolerate; so all fields
   are made up front. The organisation seal's field is created with ``lock=True``: a field lock
   (FieldMDP /All) with DocMDP P=1 ("no changes"). pyHanko reads the lock from the *field* when it
   signs; it cannot be added at signing time without the earlier signatures' difference analysis
   flagging the change to the field dictionary.
2. ``sign_field`` — per approval: fill one empty field, as an incremental update, PAdES
   (``/SubFilter /ETSI.CAdES.detached``), SHA-256; B-T when a timestamp URL is given. The
   organisation seal signs its locked field last; after it nothing may be appended (except, in
   PAdES, LTV data — DSS and document timestamps).

Signers: ``key_signer`` for a key loaded in this process (keeps the ``cryptography`` key object;
pyHanko's ``SimpleSigner`` re-parses the PKCS#8 key at every call, for the real signature and again
for the size-estimating dry run — negligible for P-256, ~55 ms per parse for RSA-2048);
``pkcs11_signer`` for a key in an HSM (one logged-in session per process and token, cached here).
Most of a signature's time is pyHanko building the CMS blob twice (dry run to size it, then for
real): see ``sign_field(bytes_reserved=...)``.
"""

from __future__ import annotations

import binascii
import io
import os
import threading
import uuid
from dataclasses import dataclass

from asn1crypto import algos as a_algos
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_PRODUCER
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

__all__ = [
    "FieldSpec",
    "KeySigner",
    "add_signature_fields",
    "close_pkcs11_sessions",
    "key_signer",
    "pkcs11_generate_key",
    "pkcs11_signer",
    "sign_field",
]

MD_ALGORITHM = "sha256"
# DER ECDSA-Sig-Value for P-256 is at most 72 bytes (two 33-byte INTEGERs + headers).
_ECDSA_P256_MAX_SIG = 72


def _a_cert(cert: x509.Certificate) -> a_x509.Certificate:
    return a_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _Writer(IncrementalPdfFileWriter):
    """An incremental writer that keeps the document information dictionary equal to the XMP metadata.

    PDF/A wants every Info entry to match its XMP counterpart. On each update pyHanko sets XMP
    ``pdf:Producer`` to "pyHanko x.y" and ``xmp:ModifyDate`` to now, but *appends* "; pyHanko x.y" to
    the Info ``/Producer`` and stamps Info ``/ModDate`` separately. So after pyHanko's own update:
    Info ``/Producer`` = the XMP value, and Info ``/ModDate`` is dropped (the XMP date is authoritative;
    PDF/A allows XMP-only properties). Files without XMP metadata are left as pyHanko writes them.
    """

    def _update_meta(self):
        super()._update_meta()
        if self._info is None or "/Metadata" not in self.root:
            return
        info = self._info.get_object()
        changed = False
        if info.get("/Producer") != generic.TextStringObject(PYHANKO_PRODUCER):
            info["/Producer"] = generic.TextStringObject(PYHANKO_PRODUCER)
            changed = True
        if "/ModDate" in info:
            del info["/ModDate"]
            changed = True
        if changed:
            self.mark_update(self._info)


# --- signers --------------------------------------------------------------------------------------


class KeySigner(signers.Signer):
    """A pyHanko ``Signer`` over an already loaded ``cryptography`` EC P-256 key.

    Declares ``ecdsa-with-SHA256`` (1.2.840.10045.4.3.2) as the signature algorithm, as RFC 5753
    wants for ECDSA in CMS (the digest is named together with the algorithm); the digest algorithm
    of the SignerInfo is SHA-256, so the two agree. The size-estimating dry run returns a placeholder
    instead of signing.
    """

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]):
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise TypeError("KeySigner takes an EC P-256 private key")
        if cert.public_key() != key.public_key():
            raise ValueError("the certificate is not for this key")
        a_cert = _a_cert(cert)
        super().__init__(
            signing_cert=a_cert,
            cert_registry=SimpleCertificateStore.from_certs([a_cert, *(_a_cert(c) for c in chain)]),
            signature_mechanism=a_algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm.lower() != MD_ALGORITHM:
            raise SigningError(f"KeySigner signs with SHA-256 only, not {digest_algorithm}")
        if dry_run:
            return bytes(_ECDSA_P256_MAX_SIG)
        return self.sign_bytes(data)

    def sign_bytes(self, data: bytes) -> bytes:
        """ECDSA-SHA256 of ``data``, synchronously: the seal record's signature needs no event loop."""
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


def key_signer(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]
) -> signers.Signer:
    """A signer for a key held in this process. ``chain``: issuing CA(s) and root, embedded in the CMS."""
    return KeySigner(cert, key, chain)


# --- PKCS#11 --------------------------------------------------------------------------------------
#
# Login state is per process and token (a second login raises UserAlreadyLoggedIn), and opening
# sessions or loading the module from several threads at once crashes python-pkcs11 (segfault in
# pkcs11.lib) — see research/hsm_tsa.md. So: ONE logged-in read/write session per (module, token)
# per process, opened on first use under a lock, cached in _SESSIONS and shared by every signer
# of that process (python-pkcs11 serialises operations on it). Worker processes each open their own.
# close_pkcs11_sessions() logs out and forgets them (tests, shutdown, after a fork).

_SESSIONS: dict[tuple[str, str], object] = {}
_SESSIONS_LOCK = threading.Lock()


def _pkcs11_session(module_path: str, token_label: str, pin: str):
    import pkcs11  # the PKCS#11 library: loaded only by deployments whose keys are in an HSM

    key = (os.path.realpath(module_path), token_label)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            lib = pkcs11.lib(module_path)
            token = lib.get_token(token_label=token_label)
            session = token.open(user_pin=pin, rw=True)
            _SESSIONS[key] = session
        return session


def close_pkcs11_sessions() -> None:
    """Close every cached PKCS#11 session of this process (logging out of its tokens)."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        try:
            session.close()
        # bandit B110: closing is best effort at shutdown
        except Exception:  # noqa: BLE001  # nosec B110
            pass


def pkcs11_generate_key(module_path: str, token_label: str, pin: str, key_label: str) -> ec.EllipticCurvePublicKey:
    """Generate an EC P-256 key pair on the token (private half sensitive, never extractable).

    Returns the public key, for which ``pki`` issues a certificate (``public_key=``). A label already
    in use on the token raises ``ValueError``.
    """
    # The PKCS#11 library: loaded only by deployments whose keys are in an HSM.
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    session = _pkcs11_session(module_path, token_label, pin)
    with _SESSIONS_LOCK:
        existing = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: key_label}))
        if existing:
            raise ValueError(f"a private key labelled {key_label!r} already exists on token {token_label!r}")
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        pub, _priv = params.generate_keypair(
            store=True,
            label=key_label,
            id=os.urandom(8),
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
        )
        spki = encode_ec_public_key(pub)
    key = serialization.load_der_public_key(spki)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the token returned a key that is not an EC public key")
    return key


def pkcs11_signer(
    module_path: str,
    token_label: str,
    pin: str,
    key_label: str,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
) -> signers.Signer:
    """pyHanko's ``PKCS11Signer`` for the key ``key_label`` on the token, with ``cert`` given directly.

    ECDSA uses the raw ``CKM_ECDSA`` mechanism (pyHanko hashes in software): SoftHSM2 and many HSMs
    offer no ``CKM_ECDSA_SHA256``.
    """
    from pyhanko.sign.pkcs11 import PKCS11Signer  # needs the PKCS#11 library: HSM deployments only

    session = _pkcs11_session(module_path, token_label, pin)
    return PKCS11Signer(
        session,
        key_label=key_label,
        signing_cert=_a_cert(cert),
        ca_chain=[_a_cert(c) for c in chain],
        use_raw_mechanism=True,
    )


# --- fields ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """An empty signature field: ``box`` in PDF points (x1, y1, x2, y2) from the page's bottom left;
    ``page`` 0-based. ``lock=True`` for the organisation seal's field (FieldMDP /All + DocMDP P=1): the
    signature in it forbids any later change. A zero-size box makes an invisible field."""

    name: str
    page: int
    box: tuple[float, float, float, float]
    lock: bool = False


def add_signature_fields(pdf: bytes, fields_: list[FieldSpec]) -> bytes:
    """Add every empty signature field in ONE incremental update; returns the new full bytes.

    Widgets get the Print flag and an (empty) appearance stream, as PDF/A wants; the AcroForm gets
    /SigFlags but no /NeedAppearances. Field names must be new, unique and contain no ``.``.
    """
    names = [f.name for f in fields_]
    if not fields_:
        raise ValueError("no fields to add")
    if len(set(names)) != len(names):
        raise ValueError("duplicate field names")
    for name in names:
        if not name or "." in name:
            raise ValueError(f"bad field name {name!r}")
    writer = _Writer(io.BytesIO(pdf))
    for spec in fields_:
        box = tuple(round(v, 3) for v in spec.box)
        lock_kwargs = {}
        if spec.lock:
            lock_kwargs = dict(
                field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.ALL),
                doc_mdp_update_value=fields.MDPPerm.NO_CHANGES,
            )
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(sig_field_name=spec.name, on_page=spec.page, box=box, **lock_kwargs),
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _locks_document(field_obj) -> bool:
    lock = field_obj.get("/Lock")
    return lock is not None and int(lock.get_object().get("/P", 0)) == 1


def _check_field(reader: PdfFileReader, field_name: str, *, lock: bool) -> None:
    """Refuse to sign a document that a signature has already locked (DocMDP P=1), and ``lock=True``
    on a field created without the lock."""
    found = False
    for name, value, ref in fields.enumerate_sig_fields(reader):
        field_obj = ref.get_object()
        if value is not None and _locks_document(field_obj):
            raise SigningError(f"the document is locked by the signature in {name!r}: no further signatures")
        if name == field_name:
            found = True
            if lock and not (_locks_document(field_obj) and field_obj["/Lock"].get_object().get("/Action") == "/All"):
                raise SigningError(
                    f"field {field_name!r} has no lock (FieldMDP /All, P=1): create it with FieldSpec(lock=True)"
                )
    if not found:
        raise SigningError(f"no signature field named {field_name!r}")


# --- appearance -----------------------------------------------------------------------------------


class _ImportedPdfBytes(content.ImportedPdfPage):
    """``ImportedPdfPage`` from bytes in memory instead of a file name."""

    def __init__(self, data: bytes, page_ix: int = 0):
        super().__init__(file_name=None, page_ix=page_ix)
        self._data = data

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self._data)), page_ix=self.page_ix)
        resource_name = b"/Import" + binascii.hexlify(uuid.uuid4().bytes)
        self.resources.xobject[resource_name.decode("ascii")] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return resource_name + b" Do"


def _stamp_style(stamp_pdf: bytes | None) -> StaticStampStyle:
    if stamp_pdf is None:
        # No imprint given: a thin black frame (pyHanko's default text stamp has a Latin-only font).
        return StaticStampStyle(border_width=1, background=None, background_opacity=1.0)
    return StaticStampStyle(
        border_width=0,
        background=_ImportedPdfBytes(stamp_pdf),
        background_opacity=1.0,  # opaque: no transparency group for PDF/A or fax
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
    )


# --- signing --------------------------------------------------------------------------------------

# pyHanko estimates the CMS size with a sample token fetched once per TimeStamper instance: reuse them.
_TIMESTAMPERS: dict[str, TimeStamper] = {}
_TIMESTAMPERS_LOCK = threading.Lock()


def _timestamper(url: str) -> TimeStamper:
    with _TIMESTAMPERS_LOCK:
        ts = _TIMESTAMPERS.get(url)
        if ts is None:
            ts = _TIMESTAMPERS[url] = HTTPTimeStamper(url, timeout=10)
        return ts


def sign_field(
    pdf: bytes,
    field_name: str,
    signer: signers.Signer,
    *,
    stamp_pdf: bytes | None = None,
    timestamp_url: str | None = None,
    lock: bool = False,
    reason: str = "",
    location: str = "",
    name: str | None = None,
    bytes_reserved: int | None = None,
) -> bytes:
    """Sign the existing empty field ``field_name`` as an incremental update; returns the new bytes.

    PAdES B-B (``ETSI.CAdES.detached``, SHA-256), B-T with ``timestamp_url`` (RFC 3161 over HTTP).
    ``stamp_pdf``: a one-page PDF of the 印影, scaled into the field's box. ``lock=True`` asserts that
    the field carries the organisation seal's lock (see ``FieldSpec.lock``); the lock itself comes
    from the field. ``SigningError`` when the field does not exist or is already signed, or when the
    document is already locked (the organisation seal is on it).

    ``bytes_reserved``: room for the CMS blob (it takes twice that in the file, hex-encoded). By
    default pyHanko builds the whole CMS once more as a dry run to measure it — about half the time of
    a B-B signature; a fixed reservation skips that but fails (``SigningError``) when too small.
    """
    # The writer's own reader: parsing the file a second time just for this check cost ~10 % of a signature.
    writer = _Writer(io.BytesIO(pdf))
    _check_field(writer.prev, field_name, lock=lock)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=MD_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        name=name,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES if lock else fields.MDPPerm.FILL_FORMS,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=_timestamper(timestamp_url) if timestamp_url else None,
        stamp_style=_stamp_style(stamp_pdf),
    )
    out = pdf_signer.sign_pdf(writer, existing_fields_only=True, bytes_reserved=bytes_reserved)
    return out.getvalue()
