"""H1: an uploaded PDF cannot take the server down; L9: lookups are counted, not written to the ledger.

The review's reproduction: a 16 KiB PDF whose xref stream inflates to millions of entries kept a web
process busy for 25 s at 744 MiB (a 64 KiB one ran out of memory after 81 s). Now the file is parsed
in the verification child (CPU, address-space and wall-clock limits), the web process answers
``verification_too_costly`` and serves the next request; uploads over 5 MB are refused before parsing.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.api.lookups import VerificationLookup, today
from app.audit.models import AuditEvent
from app.documents import service as documents
from tests.support.http import csrf_token


def xref_bomb(entries: int = 9_000_000) -> bytes:
    """A 60 KB PDF whose cross-reference stream inflates to ``entries`` seven-byte entries (63 MB):
    within pyHanko's own decode limit (about a thousand times the file), but each entry is an object of
    the parser's, so the whole costs minutes of CPU and gigabytes of memory."""
    stream = zlib.compress(bytes(entries * 7), 9)
    body = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
    offset = len(body)
    xref = (f"3 0 obj\n<< /Type /XRef /Size {entries} /W [1 4 2] /Root 1 0 R /Filter /FlateDecode "
            f"/Length {len(stream)} >>\nstream\n").encode() + stream + b"\nendstream\nendobj\n"
    return body + xref + f"startxref\n{offset}\n%%EOF\n".encode()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = xref_bomb()
    assert len(data) < 64 * 1024 and data.startswith(b"%PDF")
    return data


@pytest.fixture
def sealed(db, approve_case):
    submission = approve_case("juminhyo")
    document = documents.current_document(submission.id)
    return document, documents.read_bytes(document.latest.sha256)


def test_h1_a_decompression_bomb_costs_the_child_not_the_web_process(client, db, pki, bomb):
    api = client.post("/api/v1/verify", data=bomb, content_type="application/pdf")
    assert api.status_code == 422
    assert api.get_json()["error"]["code"] == "verification_too_costly"
    page = client.get("/verify")
    html = client.post("/verify", data={"csrf_token": csrf_token(page), "document": (io.BytesIO(bomb), "b.pdf")},
                       content_type="multipart/form-data")
    assert html.status_code == 422 and "verification_too_costly" in html.get_data(as_text=True)
    # The web process serves the next request, and the replaced child the next verification.
    assert client.get("/healthz").status_code == 200
    after = client.post("/api/v1/verify", data=b"%PDF-1.7\nnot really a pdf", content_type="application/pdf")
    assert after.status_code == 200 and after.get_json()["genuine"] is False


def test_h1_uploads_over_5_mb_are_refused_before_parsing(client, db, pki):
    big = b"%PDF-1.7\n" + bytes(5 * 1024 * 1024 + 100 * 1024)
    assert client.post("/api/v1/verify", data=big, content_type="application/pdf").status_code == 413
    page = client.get("/verify")
    # Encoded here, not by the test client (which would spool the body to a temporary file it never closes).
    upload = FileStorage(io.BytesIO(big), "b.pdf", content_type="application/pdf")
    boundary, body = encode_multipart({"csrf_token": csrf_token(page), "document": upload})
    response = client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413


def test_h1_an_issued_document_is_checked_from_the_stored_bytes(client, db, sealed, monkeypatch):
    from app.api import verification

    document, data = sealed
    checked = []
    real = verification._pdf_report
    monkeypatch.setattr(verification, "_pdf_report", lambda pdf: checked.append(pdf) or real(pdf))
    stored_reads = []
    real_read = verification.read_bytes
    monkeypatch.setattr(verification, "read_bytes", lambda sha: stored_reads.append(sha) or real_read(sha))
    body = client.post("/api/v1/verify", data=data, content_type="application/pdf").get_json()
    assert body["genuine"] is True and body["document"]["receipt_number"]
    assert stored_reads == [document.latest.sha256] and checked == [data]


def test_l9_lookups_are_counted_per_code_and_day_and_the_worker_writes_one_entry(client, db, sealed, run_worker):
    document, data = sealed
    code = document.verification_code

    def ledger(action):
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()

    before = len(ledger("verify.lookup")) + len(ledger("verify.lookups"))
    for _ in range(3):
        assert client.get(f"/verify/{code}").status_code == 200
    assert client.get(f"/api/v1/verify?code={code}").status_code == 200
    assert client.post("/api/v1/verify", data=data, content_type="application/pdf").status_code == 200
    assert client.get("/verify/0000-0000-0000-0000").status_code == 404
    assert len(ledger("verify.lookup")) + len(ledger("verify.lookups")) == before  # nothing in the request
    counts = {(row.code, row.how): row.count for row in db.session.scalars(sa.select(VerificationLookup))}
    assert counts == {(code, "code"): 3, (code, "api-code"): 1, (code, "api-upload"): 1, ("-", "code"): 1}

    run_worker()
    assert ledger("verify.lookups") == []  # today is not over
    db.session.execute(sa.update(VerificationLookup).values(day=today() - dt.timedelta(days=1)))
    db.session.commit()
    run_worker()
    entries = ledger("verify.lookups")
    assert len(entries) == 2
    found = next(e for e in entries if e.data["found"])
    assert found.subject_id == document.id and found.data["lookups"] == 5 and found.data["code"] == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationLookup)) == 0
