"""Offline verification of sealed documents with pyHanko's validator. No Flask imports.

Trust comes only from what the caller passes: the service's root(s) as the only trust anchors, the
issuing CA(s) as intermediates, and the service's own CRLs (DER) — never a network fetch
(``allow_fetching=False``). Revocation is checked in hard-fail mode: a certificate that names a CRL
distribution point needs a CRL from its issuer among ``crls`` (the root's CRL for the issuing CA, the
issuing CA's CRL for seals and staff), otherwise the signature is not trusted.

Signing time: when a signature carries a timestamp token that validates against ``timestamp_roots``,
the signer's chain is validated *at that time* (point-in-time validation, CRLs issued later accepted
retroactively). So a certificate revoked after the signature (a staff transfer, affiliationChanged)
leaves the signature valid; one revoked before it fails. Without a trusted timestamp the chain is
validated now, and any revocation fails it.

A document is genuine when it has at least one signature, every signature is intact, valid, trusted
(pyHanko's bottom line: timestamp and DocMDP included), no signature was followed by changes beyond
signing/form filling or LTV maintenance, and the last signature covers the whole file: anything
appended after the final seal makes the document not genuine.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime

from asn1crypto import crl as a_crl
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.pdf_embedded import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .pki import fingerprint
from .reports import Report, SignatureReport

__all__ = ["Report", "SignatureReport", "fields_in", "verify_pdf"]

log = logging.getLogger(__name__)
HASH = hashes.SHA256

_ACCEPTABLE_MODIFICATIONS = {
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
}

# asn1crypto's CRLReason names -> RFC 5280 / cryptography.x509.ReasonFlags values
_REASONS = {
    "unspecified": "unspecified",
    "key_compromise": "keyCompromise",
    "ca_compromise": "cACompromise",
    "affiliation_changed": "affiliationChanged",
    "superseded": "superseded",
    "cessation_of_operation": "cessationOfOperation",
    "certificate_hold": "certificateHold",
    "remove_from_crl": "removeFromCRL",
    "privilege_withdrawn": "privilegeWithdrawn",
    "aa_compromise": "aACompromise",
}


def fields_in(pdf: bytes) -> list[tuple[str, bool]]:
    """``(name, signed)`` for every signature field of the document, in document order."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return [(name, value is not None) for name, value, _ref in fields.enumerate_sig_fields(reader)]


def _to_crypto(cert: a_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _to_asn1(cert: x509.Certificate) -> a_x509.Certificate:
    return a_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _subject(cert: x509.Certificate) -> dict[str, str]:
    out = {}
    for key, oid in (
        ("CN", NameOID.COMMON_NAME),
        ("O", NameOID.ORGANIZATION_NAME),
        ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME),
        ("organizationIdentifier", NameOID.ORGANIZATION_IDENTIFIER),
    ):
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs:
            out[key] = str(attrs[0].value)
    return out


def _crl_entry(
    cert: x509.Certificate, crls: list[x509.CertificateRevocationList], issuers: list[x509.Certificate]
) -> tuple[datetime, str] | None:
    """The (date, reason) under which a verified CRL from the cert's issuer lists it, if any."""
    for crl in crls:
        if crl.issuer != cert.issuer:
            continue
        if not any(i.subject == crl.issuer and crl.is_signature_valid(i.public_key()) for i in issuers):
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is None:
            continue
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
        except x509.ExtensionNotFound:
            reason = "unspecified"
        return entry.revocation_date_utc, reason
    return None


def _missing_crls(
    cert: x509.Certificate, crls: list[x509.CertificateRevocationList], issuers: list[x509.Certificate]
) -> list[str]:
    """Certificates on the signer's chain that name a CRL but whose issuer's CRL was not given."""
    missing = []
    seen = set()
    while cert.issuer != cert.subject and cert.fingerprint(HASH()) not in seen:
        seen.add(cert.fingerprint(HASH()))
        try:
            cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
            if not any(crl.issuer == cert.issuer for crl in crls):
                missing.append(cert.issuer.rfc4514_string())
        except x509.ExtensionNotFound:
            pass
        cert = next((i for i in issuers if i.subject == cert.issuer), cert)
    return missing


async def _verify(
    reader: PdfFileReader,
    trust_roots: list[a_x509.Certificate],
    timestamp_roots: list[a_x509.Certificate],
    intermediates: list[a_x509.Certificate],
    crls: list[bytes],
    crypto_crls: list[x509.CertificateRevocationList],
    crypto_issuers: list[x509.Certificate],
) -> tuple[list[SignatureReport], list[str]]:
    problems: list[str] = []
    reports: list[SignatureReport] = []
    embedded: list[EmbeddedPdfSignature] = list(reader.embedded_signatures)
    if not embedded:
        return [], ["the document has no signatures"]

    def ts_context() -> ValidationContext:
        # The TSA's chain: its own roots; revocation soft-fail (a public TSA's CRL is not ours to hold).
        return ValidationContext(
            trust_roots=timestamp_roots,
            other_certs=intermediates,
            crls=[a_crl.CertificateList.load(c) for c in crls],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )

    for emb in embedded:
        name = emb.field_name or "?"
        try:
            if emb.sig_object_type == "/DocTimeStamp":
                ts_status = await async_validate_pdf_timestamp(emb, ts_context())
                cert = _to_crypto(ts_status.signing_cert)
                rep = SignatureReport(
                    field=name,
                    signer_subject=_subject(cert),
                    signer_fingerprint=fingerprint(cert),
                    signing_time=ts_status.timestamp,
                    timestamp_trusted=ts_status.trusted,
                    intact=ts_status.intact,
                    valid=ts_status.valid,
                    trusted=ts_status.trusted,
                    revoked=ts_status.revoked,
                    revocation_reason=None,
                    modification_level=(ts_status.modification_level or ModificationLevel.OTHER).name,
                    docmdp_ok=bool(ts_status.docmdp_ok),
                    covers_whole_file=ts_status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                    bottom_line=ts_status.valid and ts_status.intact and ts_status.trusted,
                    kind="doc_timestamp",
                )
            else:
                # 1. Is there a trusted signature timestamp? Then validate the signer's chain at its time.
                timing = await generic_cms.collect_timing_info(
                    emb.signer_info, ts_context(), raw_digest=emb.compute_digest
                )
                tst = timing.get("timestamp_validity")
                tst_trusted = bool(tst is not None and tst.intact and tst.valid and tst.trusted)
                moment = tst.timestamp if tst_trusted else None
                signer_vc = ValidationContext(
                    trust_roots=trust_roots,
                    other_certs=intermediates,
                    crls=[a_crl.CertificateList.load(c) for c in crls],
                    allow_fetching=False,
                    revocation_mode="hard-fail",
                    moment=moment,
                    # CRLs are published after the signature: accept them for a past moment
                    retroactive_revinfo=moment is not None,
                )
                # 2. Full validation: integrity, trust, timestamp, DocMDP/FieldMDP, difference analysis.
                status = await async_validate_pdf_signature(emb, signer_vc, ts_context())
                cert = _to_crypto(status.signing_cert)
                claimed = status.signer_reported_dt
                mod = status.modification_level
                listed = _crl_entry(cert, crypto_crls, crypto_issuers)
                reason = None
                if status.revocation_details is not None:
                    native = status.revocation_details.revocation_reason.native
                    reason = _REASONS.get(native, native)
                elif listed is not None:
                    reason = listed[1]
                rep = SignatureReport(
                    field=name,
                    signer_subject=_subject(cert),
                    signer_fingerprint=fingerprint(cert),
                    signing_time=moment or claimed,
                    timestamp_trusted=tst_trusted,
                    intact=status.intact,
                    valid=status.valid,
                    trusted=status.trusted,
                    revoked=status.revoked,
                    revocation_reason=reason,
                    modification_level=(mod or ModificationLevel.OTHER).name,
                    docmdp_ok=bool(status.docmdp_ok),
                    covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                    bottom_line=status.bottom_line,
                    revoked_at=(
                        status.revocation_details.revocation_date
                        if status.revocation_details is not None
                        else (listed[0] if listed else None)
                    ),
                )
                if tst is not None and not tst_trusted:
                    rep.problems.append("its timestamp is not valid or not from a trusted authority")
                if status.trust_problem_indic is not None and not status.revoked:
                    rep.problems.append(f"the signer certificate is not trusted ({status.trust_problem_indic.name})")
                    rep.problems.extend(
                        f"no CRL from {issuer} was given: revocation status unknown"
                        for issuer in _missing_crls(cert, crypto_crls, crypto_issuers)
                    )
        except Exception as exc:  # a damaged signature must not make the whole report fail
            log.info("signature %s could not be validated", name, exc_info=True)
            problems.append(f"{name}: could not be validated ({type(exc).__name__}: {exc})")
            continue

        if not rep.intact:
            rep.problems.append("the signed bytes were changed (digest mismatch)")
        elif not rep.valid:
            rep.problems.append("the cryptographic signature is invalid")
        if rep.revoked:
            rep.problems.append(
                f"the signer certificate was revoked before signing ({rep.revocation_reason}, {rep.revoked_at})"
            )
        elif not rep.trusted and not rep.problems:
            rep.problems.append("the signer certificate is not trusted")
        if not rep.docmdp_ok or ModificationLevel[rep.modification_level] not in _ACCEPTABLE_MODIFICATIONS:
            rep.problems.append(f"changes after this signature are not allowed ({rep.modification_level})")
        if not rep.bottom_line and not rep.problems:
            rep.problems.append("rejected by the validator")
        reports.append(rep)
        problems.extend(f"{rep.field}: {p}" for p in rep.problems)

    if not any(r.kind == "signature" for r in reports):
        problems.append("the document has no valid signature structure")
    if len(reports) == len(embedded) and reports and not reports[-1].covers_whole_file:
        problems.append("data was appended after the last signature")
    return reports, problems


def verify_pdf(
    pdf: bytes,
    *,
    trust_roots: list[x509.Certificate],
    intermediates: list[x509.Certificate],
    crls: list[bytes],
    timestamp_roots: list[x509.Certificate] | None = None,
) -> Report:
    """Validate every signature of ``pdf`` offline; see the module docstring for the rules.

    ``timestamp_roots`` (default, or when empty: ``trust_roots``): anchors for RFC 3161 timestamp tokens.
    """
    if not trust_roots:
        raise ValueError("at least one trust root is required")
    try:
        crypto_crls = [x509.load_der_x509_crl(c) for c in crls]
    except ValueError as exc:
        raise ValueError(f"not a DER CRL: {exc}") from exc
    try:
        # strict: no hybrid-reference files or other lenient parsing when judging authenticity
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        embedded = reader.embedded_signatures  # parse now: a broken file is reported, not raised
        del embedded
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a valid sealed document"
        return Report(False, [], [f"the file cannot be read as a signed PDF ({type(exc).__name__}: {exc})"])
    reports, problems = asyncio.run(
        _verify(
            reader,
            [_to_asn1(c) for c in trust_roots],
            [_to_asn1(c) for c in (timestamp_roots or trust_roots)],
            [_to_asn1(c) for c in intermediates],
            crls,
            crypto_crls,
            [*trust_roots, *intermediates],
        )
    )
    genuine = bool(reports) and not problems and all(r.bottom_line for r in reports)
    return Report(genuine=genuine, signatures=reports, problems=problems)
