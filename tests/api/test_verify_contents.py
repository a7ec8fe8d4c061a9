"""Verification shows what the document says: the printed answers as text and images of its pages, so
that a paper altered by hand under a real verification code cannot be mistaken for the original; only
within the retention; answers that are private pages (no-store, noindex, no-referrer)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import pytest
import sqlalchemy as sa

from app.documents import codes
from app.documents import service as documents
from app.submissions.models import Submission
from app.workflow import rendering
from tests.support.http import csrf_token

PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
CODE_RE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")


def text_of(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
                          ).stdout.decode()


def assert_private(response) -> None:
    for header, value in PRIVATE.items():
        assert response.headers.get(header) == value, (header, response.headers.get(header))


def forged_copy(submission: Submission, field_name: str, value: str) -> bytes:
    """What a forger makes from a real fax: the same layout, the same real code and QR, one answer
    changed. Rendered by the service's own renderer, so it looks exactly like the real one."""
    document = documents.current_document(submission.id)
    context = rendering.context(submission, document, with_seals=True)
    for section in context["sections"]:
        for row in section["rows"]:
            if row["name"] == field_name:
                row["value"] = value
    data, _boxes = documents.render("pdf/approval.html", context, data={}, title=context["form_title"])
    return data


@pytest.fixture
def sealed(db, approve_case, run_worker):
    submission = approve_case("juminhyo")
    run_worker()  # the page images of the final document
    return submission


def test_a_forged_fax_with_the_real_code_cannot_be_mistaken(app, db, client, sealed):
    document = documents.current_document(sealed.id)
    code = codes.format_code(document.verification_code)
    original = sealed.answers["requester_name"]
    real_name = f"{original['family']} {original['given']}"
    forged = forged_copy(sealed, "requester_name", "佐藤 次郎（サトウ ジロウ）")
    # The forgery carries the real code and the changed name, as a hand-altered fax would.
    assert code in text_of(forged) and "佐藤 次郎" in text_of(forged)

    page = client.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "本物の書類です" in html
    assert "お手元の書類と、この画面の内容が同じであることを確かめてください" in html
    assert real_name in html and "佐藤 次郎" not in html
    assert_private(page)

    api = client.get(f"/api/v1/verify?code={document.verification_code}")
    assert_private(api)
    values = [row["value"] for section in api.get_json()["printed_fields"] for row in section["rows"]]
    assert any(real_name in value for value in values) and not any("佐藤" in value for value in values)

    # Uploaded, the forgery itself is not genuine, and nothing of the original is shown for it.
    form = client.get("/verify")
    result = client.post("/verify", data={"csrf_token": csrf_token(form), "document": (io.BytesIO(forged), "fax.pdf")},
                         content_type="multipart/form-data")
    upload_html = result.get_data(as_text=True)
    assert "本物と確認できませんでした" in upload_html and real_name not in upload_html
    assert_private(result)

    # What the paper must say is what was printed when the document was rendered (kept with it), even if
    # a later change of code or catalogue would print it differently: every label and value is in the PDF.
    printed = document.printed
    assert printed and all(set(row) >= {"label", "value"} for section in printed for row in section["rows"])
    body = api.get_json()
    assert [s["title"] for s in body["printed_fields"]] == [s["title"] for s in printed]
    pdf_text = text_of(documents.read_bytes(document.latest.sha256))
    for section in body["printed_fields"]:
        for row in section["rows"]:
            assert row["label"] in pdf_text
            for line in row["value"].splitlines():
                assert line.strip() in pdf_text


def test_page_images_of_the_sealed_document_are_served_privately_and_seals_named_in_words(app, db, client, sealed):
    document = documents.current_document(sealed.id)
    body = client.get(f"/api/v1/verify?code={document.verification_code}").get_json()
    count = subprocess.run(["pdfinfo", "-"], input=documents.read_bytes(document.latest.sha256),
                           capture_output=True, check=True).stdout.decode()
    pages = int(re.search(r"Pages:\s+(\d+)", count).group(1))
    assert len(body["page_images"]) == pages >= 1
    html = client.get(f"/verify/{document.verification_code}").get_data(as_text=True)
    for number in range(1, pages + 1):
        path = f"/verify/{document.verification_code}/pages/{number}.png"
        assert f'src="{path}"' in html
        image = client.get(path)
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert image.data.startswith(b"\x89PNG")
        assert_private(image)
    assert client.get(f"/verify/{document.verification_code}/pages/{pages + 1}.png").status_code == 404

    # The seals in people's words, with the time in Japan and its zone.
    assert "受付（市民課）" in html and "決裁（市民課）" in html and "公印（" in html
    assert "step-1" not in html and "uketsuke" not in html and "org-seal" not in html
    signed = dt.datetime.fromisoformat(body["seals"][0]["signed_at"])
    in_japan = signed.astimezone(dt.timezone(dt.timedelta(hours=9))).strftime("%Y/%m/%d %H:%M")
    assert f"{in_japan} JST" in html


def test_after_the_retention_the_content_is_no_longer_shown(app, db, client, sealed):
    document = documents.current_document(sealed.id)
    years = sealed.form_version.definition["retention_years"]
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=366 * years + 2)
    db.session.execute(sa.update(Submission).where(Submission.id == sealed.id).values(decided_at=long_ago))
    db.session.commit()
    body = client.get(f"/api/v1/verify?code={document.verification_code}").get_json()
    assert body["genuine"] is True  # the seals still verify
    assert body["printed_fields"] is None and body["page_images"] == [] and body["content_withheld"] == "retention"
    html = client.get(f"/verify/{document.verification_code}").get_data(as_text=True)
    assert "保存期間" in html and sealed.answers["requester_name"]["family"] not in html
    assert client.get(f"/verify/{document.verification_code}/pages/1.png").status_code == 404


def test_a_document_in_review_shows_its_text_and_no_images_yet(app, db, client, new_case):
    submission = new_case("juminhyo", "in_review")
    document = documents.current_document(submission.id)
    body = client.get(f"/api/v1/verify?code={document.verification_code}").get_json()
    assert body["printed_fields"] and body["page_images"] == []
    assert body["document"]["final"] is False


def test_the_receipt_prints_no_code_and_no_qr_and_says_what_it_is(app, db, new_case):
    import zxingcpp
    from PIL import Image

    from app.documents.page_images import page_pngs

    submission = new_case("juminhyo", "in_review")
    receipt = documents.current_document(submission.id, "receipt")
    assert receipt.verification_code is None
    data = documents.read_bytes(receipt.latest.sha256)
    text = text_of(data)
    assert "照合番号" not in text and not CODE_RE.search(text) and "/verify" not in text
    assert "申請内容の控え" in text and "承認を示すものではありません" in text
    for png in page_pngs(data, dpi=200):
        assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png))) == []


def test_a_receipt_printed_with_a_code_before_the_rule_is_called_a_receipt_not_a_forgery(app, db, client, new_case):
    submission = new_case("juminhyo", "in_review")
    receipt = documents.current_document(submission.id, "receipt")
    receipt.verification_code = codes.new_verification_code()  # as receipts were printed before
    db.session.commit()
    html = client.get(f"/verify/{receipt.verification_code}").get_data(as_text=True)
    assert "申請内容の控え（受付控）です" in html and "本物と確認できませんでした" not in html


def test_every_pdf_the_service_issues_verifies_or_carries_no_code(app, db, client, approve_case, run_worker,
                                                                  applicant, staff):
    """The resident's downloads, the office's document and the documents delivered by e-mail: a PDF that
    prints a verification code (or a QR) is genuine at /verify by that code and as uploaded; any other
    prints neither."""
    import email
    import email.policy
    from pathlib import Path

    import zxingcpp
    from PIL import Image

    from app.documents.page_images import page_pngs
    from tests.support.accounts import sign_in_resident
    from tests.support.catalogue import DELIVERY_CONSENTS, sync_test_forms
    from tests.support.staff import make_staff, sign_in_staff

    sync_test_forms(db)
    case = approve_case("delivery-test", DELIVERY_CONSENTS)  # the resident may download the sealed document
    run_worker()  # the notice, the deliveries (e-mail into the mail folder in development)
    resident = app.test_client()
    sign_in_resident(resident, applicant.email)
    office = app.test_client()
    member, password, secret = make_staff(db, "pdf@city.example.jp", "shimin", ["clerk"])
    sign_in_staff(office, member.email, password, secret)

    issued = {}
    for kind in ("receipt", "notice", "approval"):
        response = resident.get(f"/submissions/{case.id}/documents/{kind}.pdf")
        assert response.status_code == 200, kind
        issued[f"resident {kind}"] = response.data
    issued["office document"] = office.get(f"/office/cases/{case.id}/document").data
    for path in (Path(app.config["INSTANCE_PATH"]) / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in message.iter_attachments():
            if part.get_content_type() == "application/pdf":
                issued[f"mail to {message['To']}"] = part.get_content()
    assert "mail to kaigo-hikari@example.jp" in issued

    carrying = 0
    for name, pdf in issued.items():
        assert pdf.startswith(b"%PDF"), name
        text = text_of(pdf)
        printed = set(CODE_RE.findall(text))
        scanned = {result.text for png in page_pngs(pdf, dpi=150)
                   for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))}
        if not printed and not scanned:
            assert "照合番号" not in text and "/verify" not in text, name
            continue
        carrying += 1
        assert len(printed) == 1, (name, printed)
        code = printed.pop()
        assert scanned == {f"{app.config['MADOGUCHI_BASE_URL']}/verify/{code.replace('-', '')}"}, (name, scanned)
        assert client.get(f"/api/v1/verify?code={code}").get_json()["genuine"] is True, name
        assert client.post("/api/v1/verify", data=pdf, content_type="application/pdf").get_json()["genuine"], name
    assert carrying == 3  # the sealed document, downloaded by the resident and the office, and mailed
