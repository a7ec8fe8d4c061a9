"""Access matrix: owner, another resident and anonymous over every resident route of a submission.

Another resident gets 404 (not 403: ids must not be probeable) and changes nothing; anonymous is
sent to sign in. Removing any one ownership or sign-in check makes a row here fail.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from app.submissions.models import Submission
from tests.support.accounts import make_resident, sign_in_resident
from tests.support.filing import file_form
from tests.support.http import csrf_token


@pytest.fixture
def cases(app, db, resident_client, definitions):
    """A submitted case with an attachment (inkan, filed by a proxy) and an open draft, both the owner's."""
    file_form(resident_client, definitions["inkan-shomei"], overrides={"applicant_role": "proxy"})
    submitted = db.session.scalar(sa.select(Submission).where(Submission.state == "submitted"))
    start = resident_client.get("/forms/juminhyo")
    resident_client.post("/forms/juminhyo/start", data={"csrf_token": csrf_token(start)})
    draft = db.session.scalar(sa.select(Submission).where(Submission.state == "draft"))
    return submitted, draft


def routes(submitted: Submission, draft: Submission) -> list[tuple[str, str]]:
    attachment = submitted.attachments[0] if submitted.attachments else None
    first_page = draft.form_version.definition["pages"][0]["id"]
    found = [
        ("GET", f"/drafts/{draft.id}"),
        ("GET", f"/drafts/{draft.id}/pages/{first_page}"),
        ("POST", f"/drafts/{draft.id}/pages/{first_page}"),
        ("GET", f"/drafts/{draft.id}/check"),
        ("POST", f"/drafts/{draft.id}/submit"),
        ("POST", f"/drafts/{draft.id}/discard"),
        ("GET", f"/submissions/{submitted.id}"),
        ("GET", f"/submissions/{submitted.id}/confirmation"),
        ("GET", f"/submissions/{submitted.id}/withdraw"),
        ("POST", f"/submissions/{submitted.id}/withdraw"),
    ]
    if attachment is not None:
        found.append(("GET", f"/submissions/{submitted.id}/attachments/{attachment.id}"))
    return found


def _request(client, method, url, token):
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": token, "action": "save", "declaration": "y"})
    response.close()  # a streamed file download holds its file open until closed
    return response


def _snapshot(db):
    db.session.expire_all()
    return [(s.id, s.state, s.answers, s.progress) for s in db.session.scalars(sa.select(Submission))]


def test_the_fixture_has_an_attachment(cases):
    submitted, _draft = cases
    assert submitted.attachments, "the proxy's 委任状 upload is part of the matrix"


def test_owner_reaches_every_route(cases, resident_client):
    token = csrf_token(resident_client.get("/submissions"))
    for method, url in routes(*cases):
        if url.endswith(("/submit", "/discard", "/withdraw")) and method == "POST":
            continue  # state-changing: covered by their own tests; GETs prove reachability here
        response = _request(resident_client, method, url, token)
        assert response.status_code in (200, 302), (method, url, response.status_code)
        if response.status_code == 302:
            assert "/account/sign-in" not in response.headers["Location"], (method, url)


def test_another_resident_gets_404_and_changes_nothing(app, db, cases):
    make_resident(db, "other@example.jp")
    other = app.test_client()
    sign_in_resident(other, "other@example.jp")
    token = csrf_token(other.get("/submissions"))
    before = _snapshot(db)
    for method, url in routes(*cases):
        response = _request(other, method, url, token)
        assert response.status_code == 404, (method, url, response.status_code)
    assert _snapshot(db) == before


def test_anonymous_is_sent_to_sign_in_and_changes_nothing(app, db, cases):
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/account/sign-in"))
    before = _snapshot(db)
    for method, url in routes(*cases):
        response = _request(anonymous, method, url, token)
        assert response.status_code == 302, (method, url, response.status_code)
        assert "/account/sign-in" in response.headers["Location"], (method, url)
    assert _snapshot(db) == before


def test_my_submissions_lists_only_mine(app, db, cases):
    make_resident(db, "other@example.jp")
    other = app.test_client()
    sign_in_resident(other, "other@example.jp")
    submitted, _draft = cases
    assert submitted.receipt_number not in other.get("/submissions").get_data(as_text=True)


def test_l2_an_upload_is_offered_under_its_real_kind_and_never_cached(app, db, resident_client, definitions):
    """The review: a polyglot ``%PDF-…<script>`` named ``../../evil.html`` came back as ``evil.html`` with
    ``Cache-Control: no-cache``."""
    spec = next(f for page in definitions["inkan-shomei"]["pages"] for f in page["fields"] if f["type"] == "file")
    polyglot = (io.BytesIO(b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF"), "../../evil.html")
    file_form(resident_client, definitions["inkan-shomei"], overrides={"applicant_role": "proxy",
                                                                       spec["name"]: polyglot})
    submitted = db.session.scalar(sa.select(Submission).where(Submission.state == "submitted"))
    [attachment] = submitted.attachments
    assert attachment.filename == "evil.pdf"
    response = resident_client.get(f"/submissions/{submitted.id}/attachments/{attachment.id}")
    assert response.headers["Content-Disposition"] == "attachment; filename=evil.pdf"
    assert response.headers["Cache-Control"] == "no-store" and response.mimetype == "application/pdf"
    response.close()
