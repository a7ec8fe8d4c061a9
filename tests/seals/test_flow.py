"""Documents and e-seals end to end: a case approved through its route, sealed by the worker, checked
by independent validators, and tampered with in every way the acceptance criteria name."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
import sqlalchemy as sa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from app.documents import service as documents
from app.seals import pki as pki_core
from app.submissions.models import Submission
from app.workflow import rendering
from app.workflow.service import ORG_SEAL
from tests.support.http import csrf_token


@pytest.fixture
def approved(db, new_case, staff, approve):
    """A 転居届 approved through its four steps (one a 合議 of two offices): five seals and the organisation's."""
    submission = new_case("tenkyo", "in_review")
    for member in ("clerk", "clerk2", "zeimu", "fukushi", "approver"):
        approve(submission.id, staff[member])
    db.session.expire_all()
    submission = db.session.get(Submission, submission.id)
    assert submission.state == "approved"
    return submission


def _export(runner, submission, tmp_path):
    out = tmp_path / "doc.pdf"
    result = runner.invoke(args=["documents", "export", submission.receipt_number, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _root(runner, tmp_path):
    out = tmp_path / "root.pem"
    assert runner.invoke(args=["seals", "root", "--out", str(out)]).exit_code == 0
    return out


def embedded_files(data: bytes) -> dict[str, bytes]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    return {str(names[i]): names[i + 1]["/EF"]["/F"].data for i in range(0, len(names), 2)}


def test_the_sealed_document_validates_with_pyhanko_and_pdfsig(app, db, approved, runner, tmp_path, local_tsa):
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule

    from app.seals import service

    doc = _export(runner, approved, tmp_path).read_bytes()
    root = pki_core.load_cert(_root(runner, tmp_path).read_bytes())
    reader = PdfFileReader(io.BytesIO(doc), strict=False)
    signatures = reader.embedded_signatures
    assert [s.field_name for s in signatures][-1] == ORG_SEAL and len(signatures) == 6

    from asn1crypto import x509 as a_x509

    def asn1(cert):
        return a_x509.Certificate.load(pki_core.cert_der(cert))

    context = ValidationContext(
        trust_roots=[asn1(root)], other_certs=[asn1(c) for c in service.chain_certificates()],
        crls=service.all_latest_crls(), allow_fetching=False,
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(
            ee_certificate_rule=RevocationCheckingRule.CRL_REQUIRED,
            intermediate_ca_cert_rule=RevocationCheckingRule.CRL_REQUIRED)),
    )
    # The timestamp authority's own chain: trusted for timestamps only, and it publishes no CRL here.
    ts_context = ValidationContext(trust_roots=[asn1(local_tsa.root)], allow_fetching=False,
                                   revocation_mode="soft-fail")
    for signature in signatures:
        status = validate_pdf_signature(signature, context, ts_context)
        assert status.bottom_line, (signature.field_name, status.pretty_print_details())
    assert signatures[-1].coverage.name == "ENTIRE_FILE"

    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss}"], check=True)
    subprocess.run(["certutil", "-A", "-n", "madoguchi-root", "-t", "CT,C,C", "-i", str(tmp_path / "root.pem"),
                    "-d", f"sql:{nss}"], check=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", "-no-ocsp", str(tmp_path / "doc.pdf")],
                         capture_output=True, text=True).stdout
    assert out.count("Signature is Valid.") == 6, out
    assert out.count("Certificate is Trusted.") + out.count("Unknown issue with Certificate") >= 6, out
    # pdfsig reports "Total document signed" only for the signature covering the whole file: the last one.
    blocks = out.split("Signature #")[1:]
    assert "Total document signed" in blocks[-1] and all("Total document signed" not in b for b in blocks[:-1])


def _tampered(doc: bytes, how: str) -> bytes:
    if how == "appended-update":
        writer = IncrementalPdfFileWriter(io.BytesIO(doc), strict=False)
        from pyhanko.pdf_utils import generic

        info = writer.trailer["/Info"].get_object() if "/Info" in writer.trailer else generic.DictionaryObject()
        info[generic.NameObject("/Title")] = generic.TextStringObject("書き換え")
        writer.set_info(info)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    if how == "flipped-byte":
        data = bytearray(doc)
        data[len(data) // 3] ^= 0x01
        return bytes(data)
    if how == "changed-value":
        # Replace the embedded answers (the JSON attachment) in an incremental update after the seal.
        writer = IncrementalPdfFileWriter(io.BytesIO(doc), strict=False)
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
        stream = names[1]["/EF"]["/F"].get_object()
        answers = json.loads(stream.data)
        answers[next(iter(answers))] = "書き換えた値"
        stream._data = json.dumps(answers, ensure_ascii=False).encode()
        stream._encoded_data = None
        writer.mark_update(names[1]["/EF"].raw_get("/F"))
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    if how == "re-signed":
        # The same rendered document sealed with a key the service's PKI did not issue.
        from app.seals import sign
        from tests.seals.conftest import make_pki

        foreign = make_pki()
        signer = sign.key_signer(foreign.org.cert, foreign.org.key, foreign.chain)
        return sign.sign_field(_rendered_revision(doc), "step-1-uketsuke-shimin", signer)
    raise AssertionError(how)


def _rendered_revision(doc: bytes) -> bytes:
    """The unsealed first revision of the stored document whose latest revision is ``doc``."""
    import hashlib

    from app.documents.models import DocumentRevision
    from app.extensions import db

    latest = hashlib.sha256(doc).hexdigest()
    document_id = db.session.scalar(sa.select(DocumentRevision.document_id).where(DocumentRevision.sha256 == latest))
    first = db.session.scalar(sa.select(DocumentRevision.sha256).where(DocumentRevision.document_id == document_id,
                                                                       DocumentRevision.seq == 1))
    return documents.read_bytes(first)


@pytest.mark.parametrize("how", ["appended-update", "flipped-byte", "changed-value", "re-signed"])
def test_tampered_copies_are_not_genuine_anywhere(app, db, approved, runner, tmp_path, client, how):
    doc = _export(runner, approved, tmp_path).read_bytes()
    bad = _tampered(doc, how)
    path = tmp_path / "bad.pdf"
    path.write_bytes(bad)

    result = runner.invoke(args=["seals", "verify", str(path)])
    assert result.exit_code == 1, result.output
    assert "NOT GENUINE" in result.output

    api = client.post("/api/v1/verify", data=bad, content_type="application/pdf")
    assert api.status_code == 200 and api.get_json()["genuine"] is False and api.get_json()["problems"]

    page = client.get("/verify")
    html = client.post("/verify", data={"csrf_token": csrf_token(page), "document": (io.BytesIO(bad), "bad.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "本物と確認できませんでした" in html

    assert runner.invoke(args=["seals", "verify", str(tmp_path / "doc.pdf")]).exit_code == 0


def test_the_genuine_document_verifies_by_code_api_and_cli(app, db, approved, runner, tmp_path, client):
    document = documents.current_document(approved.id)
    code = document.verification_code
    grouped = "-".join(code[i:i + 4] for i in range(0, 16, 4))
    html = client.get(f"/verify/{grouped.lower()}").get_data(as_text=True)
    assert "本物の書類です" in html and approved.receipt_number in html
    body = client.get(f"/api/v1/verify?code={code}").get_json()
    assert body["genuine"] is True and body["document"]["final"] is True
    assert body["document"]["receipt_number"] == approved.receipt_number
    assert len(body["seals"]) == 6 and all(s["signing_time_trusted"] for s in body["seals"])
    assert client.get("/api/v1/verify?code=0000000000000000").status_code == 404
    assert client.get("/pki/crl.der").headers["Content-Type"] == "application/pkix-crl"
    doc = _export(runner, approved, tmp_path)
    result = runner.invoke(args=["seals", "verify", str(doc)])
    assert result.exit_code == 0 and "GENUINE" in result.output


def test_a_seal_survives_rotation_and_revocation(app, db, approved, runner, tmp_path, staff):
    from app.api.verification import verify_bytes

    doc = _export(runner, approved, tmp_path)
    # Verified once before: the report kept for repeat lookups must not hide the revocation below.
    assert verify_bytes(doc.read_bytes())["seals"][0]["certificate_status"] == "good"
    clerk = staff["clerk"].email
    assert runner.invoke(args=["seals", "rotate", "--staff", clerk]).exit_code == 0
    assert runner.invoke(args=["seals", "rotate"]).exit_code == 0  # the organisation seal too
    result = runner.invoke(args=["seals", "revoke", clerk, "--reason", "affiliationChanged"])
    assert result.exit_code == 0, result.output
    summary = verify_bytes(doc.read_bytes())
    assert summary["genuine"] is True, summary["problems"]
    first = summary["seals"][0]
    assert first["certificate_status"] == "revoked_later" and first["revocation_reason"] == "affiliationChanged"
    assert first["signing_time_trusted"] and first["signed_at"] < first["revoked_at"]


def test_changing_an_answer_in_the_database_breaks_the_seal_chain(app, db, approved, client):
    submission = db.session.get(Submission, approved.id)
    answers = dict(submission.answers)
    key = next(k for k, v in answers.items() if isinstance(v, str))
    answers[key] = answers[key] + "（改ざん）"
    db.session.execute(sa.update(Submission).where(Submission.id == submission.id).values(answers=answers))
    db.session.commit()
    code = documents.current_document(submission.id).verification_code
    body = client.get(f"/api/v1/verify?code={code}").get_json()
    assert body["genuine"] is False
    assert any("seal 1 (uketsuke): the answers were changed" in p for p in body["problems"])


@pytest.mark.parametrize("slug", ["juminhyo", "tenkyo", "inkan-shomei"])
def test_each_demo_forms_approval_document_is_pdfa_with_its_printable_answers(app, db, new_case, slug):
    submission = new_case(slug, "in_review")
    document = documents.current_document(submission.id)
    data = documents.read_bytes(document.latest.sha256)
    xmp = PdfFileReader(io.BytesIO(data), strict=False).root["/Metadata"].get_object().data
    assert b'pdfaid:part="3"' in xmp or b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b'pdfaid:conformance="B"' in xmp or b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    files = embedded_files(data)
    assert list(files) == ["answers.json"]
    assert json.loads(files["answers.json"]) == rendering.printable_answers(submission)
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert submission.receipt_number in text
    # The demo answers include a My Number on 転居届: it is neither printed nor embedded.
    for secret in ("123456789018", "1234 5678 9018", "1234-5678-9018"):
        assert secret not in text and secret not in files["answers.json"].decode()


def test_the_final_sealed_document_is_still_pdfa(app, db, approved):
    document = documents.current_document(approved.id)
    xmp = PdfFileReader(io.BytesIO(documents.read_bytes(document.latest.sha256)), strict=False
                        ).root["/Metadata"].get_object().data
    assert b'pdfaid:part="3"' in xmp or b"<pdfaid:part>3</pdfaid:part>" in xmp


def test_hostile_answers_are_printed_as_text(app, db, new_case, run_worker):
    from app.submissions import service as submissions

    hostile = '<img src="file:///etc/passwd"> <link rel=attachment href="file:///etc/hostname"> http://169.254.169.254/'
    submission = new_case("juminhyo", "draft")
    text_field = next(f for _page, f in rendering.printable_fields(submission) if f["type"] in ("text", "textarea"))
    submission.answers = {**submission.answers, text_field["name"]: hostile}
    submissions.submit(submission)
    db.session.commit()
    run_worker()
    document = documents.current_document(submission.id)
    data = documents.read_bytes(document.latest.sha256)
    assert list(embedded_files(data)) == ["answers.json"]
    assert b"root:x:0:0" not in data
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True).stdout.decode()
    assert "file:///etc/passwd" in text and "169.254.169.254" in text


def test_a_step_sealed_with_a_key_held_in_softhsm_verifies(app, db, softhsm, new_case, staff, approve):
    from app.api.verification import verify_bytes
    from app.seals.models import SealCertificate

    saved = {k: app.config[k] for k in ("MADOGUCHI_PKCS11_MODULE", "MADOGUCHI_PKCS11_TOKEN", "MADOGUCHI_PKCS11_PIN")}
    app.config.update(MADOGUCHI_PKCS11_MODULE=softhsm, MADOGUCHI_PKCS11_TOKEN="madoguchi-test",
                      MADOGUCHI_PKCS11_PIN="5678")
    try:
        submission = new_case("juminhyo", "in_review")
        approve(submission.id, staff["clerk"])  # the worker makes the clerk's key inside the token and seals
    finally:
        app.config.update(saved)
    approve(submission.id, staff["approver"])
    row = db.session.scalar(sa.select(SealCertificate).where(SealCertificate.staff_id == staff["clerk"].id))
    assert row.key_label and row.key_pem_enc is None  # no private key outside the HSM
    document = documents.current_document(submission.id)
    summary = verify_bytes(documents.read_bytes(document.latest.sha256))
    assert summary["genuine"], summary["problems"]
    assert summary["seals"][0]["field"].startswith("step-1") and summary["seals"][0]["ok"]
