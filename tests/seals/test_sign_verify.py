"""PAdES seals end to end: fields, sequential B-T signatures, verification by pyHanko and poppler's pdfsig,
tampering, rotation and revocation, and a key inside SoftHSM2. Pure: no app, no database."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError

from app.seals import pki, sign
from app.seals.sign import FieldSpec, add_signature_fields, key_signer, sign_field
from app.seals.verify import fields_in, verify_pdf
from tests.seals.conftest import CRL_URL, MUNICIPALITY, ORG_ID, make_pki


def _require_tool(*tools: str, package: str) -> None:
    """Tools installed by scripts/setup: missing as root is a broken setup (fail), otherwise skip."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        if os.geteuid() == 0:
            pytest.fail(f"{', '.join(missing)} not installed: run scripts/setup (Debian package {package})")
        pytest.skip(f"{', '.join(missing)} not installed (Debian package {package}; scripts/setup installs it as root)")


def verify(pdf: bytes, seal_pki, tsa_root, crls=None):
    return verify_pdf(
        pdf,
        trust_roots=[seal_pki.root.cert],
        intermediates=[seal_pki.issuing.cert],
        crls=seal_pki.crls() if crls is None else crls,
        timestamp_roots=[tsa_root],
    )


def seal_document(fielded_pdf, seal_pki, tsa_url, stamp_pdf, *, clerk=None, approver=None, org=None) -> bytes:
    clerk, approver, org = clerk or seal_pki.clerk, approver or seal_pki.approver, org or seal_pki.org
    pdf = sign_field(
        fielded_pdf, "step1", key_signer(clerk.cert, clerk.key, seal_pki.chain), stamp_pdf=stamp_pdf,
        timestamp_url=tsa_url, reason="受付 承認", location=MUNICIPALITY, name="山田 太郎",
    )
    pdf = sign_field(
        pdf, "step2", key_signer(approver.cert, approver.key, seal_pki.chain), stamp_pdf=stamp_pdf,
        timestamp_url=tsa_url, reason="決裁 承認", location=MUNICIPALITY,
    )
    return sign_field(
        pdf, "OrgSeal", key_signer(org.cert, org.key, seal_pki.chain), stamp_pdf=stamp_pdf,
        timestamp_url=tsa_url, lock=True, reason="公印", location=MUNICIPALITY,
    )


@pytest.fixture(scope="module")
def sealed(fielded_pdf, seal_pki, tsa, stamp_pdf) -> bytes:
    return seal_document(fielded_pdf, seal_pki, tsa[0], stamp_pdf)


# --- pdfsig ---------------------------------------------------------------------------------------


@dataclass
class PdfsigSignature:
    field: str
    signed: bool  # pdfsig lists empty signature fields too ("The signature form field is not signed.")
    signature: str
    certificate: str
    total: bool


def pdfsig(pdf: bytes, root: x509.Certificate, tmp_path: Path) -> list[PdfsigSignature]:
    _require_tool("pdfsig", package="poppler-utils")
    _require_tool("certutil", package="libnss3-tools")
    nss = tmp_path / "nss"
    nss.mkdir(exist_ok=True)
    (tmp_path / "root.pem").write_bytes(pki.cert_pem(root))
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss}"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-A", "-n", "root", "-t", "CT,C,C", "-i", str(tmp_path / "root.pem"), "-d", f"sql:{nss}"],
        check=True, capture_output=True,
    )
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "doc.pdf")], capture_output=True, text=True, timeout=60
    ).stdout
    result = []
    for block in re.split(r"^Signature #\d+:\n", out, flags=re.M)[1:]:
        def line(label, block=block):
            match = re.search(rf"^\s*- {label}: (.*)$", block, flags=re.M)
            return match.group(1).strip() if match else ""

        result.append(
            PdfsigSignature(
                field=line("Signature Field Name"),
                signed="is not signed" not in block,
                signature=line("Signature Validation"),
                certificate=line("Certificate Validation"),
                total="Total document signed" in block and "Not total document signed" not in block,
            )
        )
    return result


# --- the happy path -------------------------------------------------------------------------------


def test_fields_are_added_in_one_update(plain_pdf, fielded_pdf):
    assert fields_in(plain_pdf) == []
    assert fields_in(fielded_pdf) == [("step1", False), ("step2", False), ("OrgSeal", False)]
    assert fielded_pdf.startswith(plain_pdf)  # an incremental update
    assert fielded_pdf[len(plain_pdf):].count(b"%%EOF") == 1  # exactly one
    reader = PdfFileReader(io.BytesIO(fielded_pdf))
    widgets = [a.get_object() for a in reader.root["/Pages"]["/Kids"][0].get_object()["/Annots"]]
    assert {str(w["/T"]) for w in widgets} == {"step1", "step2", "OrgSeal"}
    for widget in widgets:
        assert int(widget["/F"]) & 4  # Print flag, as PDF/A wants
        assert "/N" in widget["/AP"]
    org = next(w for w in widgets if w["/T"] == "OrgSeal")
    assert org["/Lock"]["/Action"] == "/All" and int(org["/Lock"]["/P"]) == 1
    assert "/NeedAppearances" not in reader.root["/AcroForm"]


def test_field_errors(fielded_pdf, plain_pdf, seal_pki):
    signer = key_signer(seal_pki.clerk.cert, seal_pki.clerk.key, seal_pki.chain)
    with pytest.raises(ValueError, match="duplicate"):
        add_signature_fields(plain_pdf, [FieldSpec("a", 0, (0, 0, 10, 10)), FieldSpec("a", 0, (0, 0, 10, 10))])
    with pytest.raises(Exception, match="already exists"):
        add_signature_fields(fielded_pdf, [FieldSpec("step1", 0, (0, 0, 10, 10))])
    with pytest.raises(SigningError, match="no lock"):
        sign_field(fielded_pdf, "step1", signer, lock=True)
    with pytest.raises(SigningError):
        sign_field(fielded_pdf, "nosuchfield", signer)
    once = sign_field(fielded_pdf, "step1", signer)
    with pytest.raises(SigningError, match="filled already"):
        sign_field(once, "step1", signer)
    with pytest.raises(ValueError, match="not for this key"):
        key_signer(seal_pki.clerk.cert, seal_pki.approver.key, seal_pki.chain)


def test_three_seals_in_sequence_validate_with_pyhanko(sealed, seal_pki, tsa):
    report = verify(sealed, seal_pki, tsa[1])
    assert report.genuine, report.problems
    assert report.problems == []
    assert [s.field for s in report.signatures] == ["step1", "step2", "OrgSeal"]
    for s in report.signatures:
        assert s.intact and s.valid and s.trusted and s.bottom_line and s.docmdp_ok
        assert s.timestamp_trusted and not s.revoked and s.revocation_reason is None
        assert abs(s.signing_time - datetime.now(UTC)) < timedelta(minutes=5)
    step1, step2, org = report.signatures
    assert step1.signing_time <= step2.signing_time <= org.signing_time
    assert [s.covers_whole_file for s in report.signatures] == [False, False, True]
    assert step1.modification_level == step2.modification_level == "FORM_FILLING"
    assert org.modification_level == "NONE"
    assert step1.signer_subject == {"CN": "山田 太郎", "O": MUNICIPALITY, "OU": "市民課"}
    assert org.signer_subject == {"CN": "架空市 電子公印", "O": MUNICIPALITY, "organizationIdentifier": ORG_ID}
    assert org.signer_fingerprint == pki.fingerprint(seal_pki.org.cert)
    assert fields_in(sealed) == [("step1", True), ("step2", True), ("OrgSeal", True)]


def test_signatures_are_pades_ecdsa_sha256(sealed):
    reader = PdfFileReader(io.BytesIO(sealed))
    for emb in reader.embedded_signatures:
        assert emb.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
        info = emb.signer_info
        assert info["digest_algorithm"]["algorithm"].native == "sha256"
        assert info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
        # PAdES: no CMS signing-time attribute; the time comes from the timestamp token
        assert "signing_time" not in {a["type"].native for a in info["signed_attrs"]}
        assert "signature_time_stamp_token" in {a["type"].native for a in info["unsigned_attrs"]}
    sig = reader.embedded_signatures[0].sig_object
    assert sig["/Reason"] == "受付 承認" and sig["/Location"] == MUNICIPALITY and sig["/Name"] == "山田 太郎"


def test_the_organisation_seal_locks_the_document(sealed, fielded_pdf, seal_pki):
    # step2 is still empty, but nothing may be signed after the organisation seal
    early = sign_field(fielded_pdf, "OrgSeal", key_signer(seal_pki.org.cert, seal_pki.org.key, seal_pki.chain),
                       lock=True)
    with pytest.raises(SigningError, match="locked by the signature in 'OrgSeal'"):
        sign_field(early, "step2", key_signer(seal_pki.approver.cert, seal_pki.approver.key, seal_pki.chain))
    reader = PdfFileReader(io.BytesIO(sealed))
    org = reader.embedded_signatures[-1]
    assert org.field_name == "OrgSeal"
    assert org.docmdp_level is not None and org.docmdp_level.value == 1  # DocMDP P=1: no changes
    assert org.fieldmdp is not None and org.fieldmdp.action.name == "ALL"


def test_pdfsig_accepts_every_seal(sealed, seal_pki, tmp_path):
    signatures = pdfsig(sealed, seal_pki.root.cert, tmp_path)
    assert [s.field for s in signatures] == ["step1", "step2", "OrgSeal"]
    for s in signatures:
        assert s.signature == "Signature is Valid.", s
        assert s.certificate == "Certificate is Trusted.", s
    assert [s.total for s in signatures] == [False, False, True]


def test_signed_pdfa_metadata_stays_consistent(sealed, plain_pdf):
    reader = PdfFileReader(io.BytesIO(plain_pdf))
    if "/Metadata" not in reader.root:
        pytest.skip("WeasyPrint not installed: the test document is not PDF/A")
    reader = PdfFileReader(io.BytesIO(sealed))
    xmp = reader.root["/Metadata"].data.decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    producer = re.search(r'pdf:Producer="([^"]*)"', xmp).group(1)
    info = reader.trailer["/Info"]
    assert str(info["/Producer"]) == producer  # PDF/A: Info entries equal their XMP counterparts
    assert "/ModDate" not in info
    assert len(reader.trailer["/ID"]) == 2


# --- tampering ------------------------------------------------------------------------------------


def _append_annotation(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Square"),
                generic.pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (10, 10, 90, 90)]),
                generic.pdf_name("/F"): generic.NumberObject(4),
            }
        )
    )
    annots = page["/Annots"]
    annots.append(annot)
    writer.mark_update(page_ref)
    if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
        writer.mark_update(page.raw_get("/Annots"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_annotation_appended_after_the_seal_is_not_genuine(sealed, seal_pki, tsa, tmp_path):
    tampered = _append_annotation(sealed)
    report = verify(tampered, seal_pki, tsa[1])
    assert not report.genuine
    org = report.signatures[-1]
    assert org.intact and org.valid and org.trusted  # cryptographically untouched ...
    assert not org.covers_whole_file and not org.docmdp_ok  # ... but something was appended
    assert any("appended" in p for p in report.problems)
    # pdfsig checks only the byte ranges: it still says Valid, but no longer "Total document signed".
    signatures = pdfsig(tampered, seal_pki.root.cert, tmp_path)
    assert all(s.signature == "Signature is Valid." for s in signatures)
    assert not any(s.total for s in signatures)


def test_a_signature_field_appended_after_the_seal_is_not_genuine(sealed, seal_pki, tsa):
    tampered = add_signature_fields(sealed, [FieldSpec("extra", 0, (300, 300, 400, 400))])
    report = verify(tampered, seal_pki, tsa[1])
    assert not report.genuine
    assert not report.signatures[-1].covers_whole_file
    assert not report.signatures[-1].docmdp_ok  # the lock forbids even a new field


def test_trailing_bytes_after_the_seal_are_not_genuine(sealed, seal_pki, tsa):
    report = verify(sealed + b"\n% appended\n", seal_pki, tsa[1])
    assert not report.genuine


def test_a_flipped_byte_in_a_signed_range_is_not_genuine(sealed, seal_pki, tsa, tmp_path):
    # /M of step1's signature dictionary: inside every signature's signed ranges, harmless to parsers.
    marker = b"/M (D\\072"  # pyHanko writes the date string's colon as an octal escape
    at = sealed.index(marker) + len(marker) + 3
    digit = sealed[at : at + 1]
    assert digit.isdigit()
    tampered = sealed[:at] + (b"1" if digit != b"1" else b"2") + sealed[at + 1 :]
    report = verify(tampered, seal_pki, tsa[1])
    assert not report.genuine
    assert report.signatures and not any(s.intact for s in report.signatures)
    assert any("digest" in p for p in report.problems)
    signatures = pdfsig(tampered, seal_pki.root.cert, tmp_path)
    assert signatures and not any(s.signature == "Signature is Valid." for s in signatures)


def test_a_copy_resigned_with_a_foreign_key_is_not_genuine(fielded_pdf, seal_pki, tsa, stamp_pdf):
    forger = make_pki()  # same names, different keys: a PKI the service did not issue
    forged = seal_document(fielded_pdf, forger, tsa[0], stamp_pdf)
    assert verify(forged, forger, tsa[1]).genuine  # valid on its own terms ...
    report = verify(forged, seal_pki, tsa[1])  # ... but not against the service's root
    assert not report.genuine
    assert all(s.intact and s.valid and not s.trusted for s in report.signatures)


def test_an_unsigned_document_is_not_genuine(fielded_pdf, seal_pki, tsa):
    report = verify(fielded_pdf, seal_pki, tsa[1])
    assert not report.genuine and report.signatures == []
    assert report.problems == ["the document has no signatures"]
    assert not verify_pdf(b"not a pdf", trust_roots=[seal_pki.root.cert], intermediates=[], crls=[]).genuine


def test_every_issuer_needs_a_crl(sealed, seal_pki, tsa):
    """Hard-fail revocation: without the root's CRL the issuing CA's status is unknown."""
    root_crl, issuing_crl = seal_pki.crls()
    assert not verify(sealed, seal_pki, tsa[1], crls=[issuing_crl]).genuine
    assert not verify(sealed, seal_pki, tsa[1], crls=[]).genuine
    report = verify(sealed, seal_pki, tsa[1], crls=[root_crl])
    assert not report.genuine
    assert any("no CRL" in p for p in report.problems)


def test_an_untrusted_timestamp_authority_is_not_genuine(sealed, seal_pki):
    report = verify_pdf(
        sealed, trust_roots=[seal_pki.root.cert], intermediates=[seal_pki.issuing.cert], crls=seal_pki.crls()
    )
    assert not report.genuine
    assert not any(s.timestamp_trusted for s in report.signatures)


# --- rotation and revocation ----------------------------------------------------------------------


def test_seals_made_before_rotation_and_revocation_stay_valid(fielded_pdf, seal_pki, tsa, stamp_pdf):
    url, tsa_root = tsa
    old_clerk = seal_pki.staff("鈴木 一郎", "suzuki@city.example.jp")
    old_org = pki.new_org_seal(seal_pki.issuing, organization=MUNICIPALITY, organization_identifier=ORG_ID,
                               crl_url=CRL_URL)
    doc = seal_document(fielded_pdf, seal_pki, url, stamp_pdf, clerk=old_clerk, org=old_org)
    untimestamped = sign_field(fielded_pdf, "step1", key_signer(old_clerk.cert, old_clerk.key, seal_pki.chain))
    before = verify(doc, seal_pki, tsa_root)
    assert before.genuine, before.problems
    assert verify(untimestamped, seal_pki, tsa_root).genuine

    # Rotation: new keys and certificates; the old ones are revoked a moment after the signatures.
    new_clerk = seal_pki.staff("鈴木 一郎", "suzuki@city.example.jp")
    signed_at = max(s.signing_time for s in before.signatures)
    revoked_at = signed_at.replace(microsecond=0) + timedelta(seconds=1)  # CRL dates are whole seconds
    crls = seal_pki.crls(
        [
            (old_clerk.cert.serial_number, revoked_at, x509.ReasonFlags.affiliation_changed),
            (old_org.cert.serial_number, revoked_at, x509.ReasonFlags.superseded),
        ],
        number=2,
    )
    while datetime.now(UTC) < revoked_at + timedelta(milliseconds=200):
        time.sleep(0.05)

    after = verify(doc, seal_pki, tsa_root, crls=crls)
    assert after.genuine, after.problems
    step1, _step2, org = after.signatures
    assert step1.timestamp_trusted and step1.signing_time < revoked_at
    assert not step1.revoked and step1.revoked_at == revoked_at
    assert step1.revocation_reason == "affiliationChanged"
    assert not org.revoked and org.revocation_reason == "superseded"

    # Without a trusted timestamp nothing proves the signature came first: the revocation counts.
    report = verify(untimestamped, seal_pki, tsa_root, crls=crls)
    assert not report.genuine
    assert report.signatures[0].revoked and not report.signatures[0].timestamp_trusted

    # A signature made after the revocation, with the revoked key, fails.
    late = sign_field(fielded_pdf, "step1", key_signer(old_clerk.cert, old_clerk.key, seal_pki.chain),
                      timestamp_url=url)
    report = verify(late, seal_pki, tsa_root, crls=crls)
    assert not report.genuine
    late_sig = report.signatures[0]
    assert late_sig.timestamp_trusted and late_sig.signing_time > revoked_at
    assert late_sig.revoked and late_sig.revocation_reason == "affiliationChanged"
    assert any("revoked" in p for p in report.problems)

    # The rotated certificate signs fine.
    fresh = sign_field(fielded_pdf, "step1", key_signer(new_clerk.cert, new_clerk.key, seal_pki.chain),
                       timestamp_url=url)
    assert verify(fresh, seal_pki, tsa_root, crls=crls).genuine


# --- PKCS#11 (SoftHSM2) ---------------------------------------------------------------------------


def test_a_key_inside_softhsm_signs_a_field(softhsm, fielded_pdf, seal_pki, tsa, stamp_pdf, tmp_path):
    public_key = sign.pkcs11_generate_key(softhsm, "madoguchi-test", "5678", "org-seal-2026")
    with pytest.raises(ValueError, match="already exists"):
        sign.pkcs11_generate_key(softhsm, "madoguchi-test", "5678", "org-seal-2026")
    issued = pki.new_org_seal(seal_pki.issuing, organization=MUNICIPALITY, organization_identifier=ORG_ID,
                              crl_url=CRL_URL, public_key=public_key)
    assert issued.key is None
    signer = sign.pkcs11_signer(softhsm, "madoguchi-test", "5678", "org-seal-2026", issued.cert, seal_pki.chain)
    # the cached session is shared: a second signer does not log in again
    assert sign.pkcs11_signer(softhsm, "madoguchi-test", "5678", "org-seal-2026", issued.cert, seal_pki.chain)
    pdf = sign_field(fielded_pdf, "step1", key_signer(seal_pki.clerk.cert, seal_pki.clerk.key, seal_pki.chain),
                     timestamp_url=tsa[0])
    pdf = sign_field(pdf, "OrgSeal", signer, stamp_pdf=stamp_pdf, timestamp_url=tsa[0], lock=True)
    report = verify(pdf, seal_pki, tsa[1])
    assert report.genuine, report.problems
    assert report.signatures[-1].signer_fingerprint == pki.fingerprint(issued.cert)
    assert report.signatures[-1].covers_whole_file
    signatures = pdfsig(pdf, seal_pki.root.cert, tmp_path)
    assert [(s.field, s.signed) for s in signatures] == [("step1", True), ("step2", False), ("OrgSeal", True)]
    for s in (signatures[0], signatures[2]):
        assert s.signature == "Signature is Valid." and s.certificate == "Certificate is Trusted.", s
    assert signatures[-1].total
