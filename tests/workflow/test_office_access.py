"""Access matrix over every /office case route.

Staff of an office on the route reach it; staff of another office get 404 and change nothing; a
resident gets 403 or 404; anonymous is sent to sign in. Removing any one check makes a row fail.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.submissions.models import Submission, SubmissionHistory
from app.workflow.models import Approval
from tests.support.accounts import make_resident, sign_in_resident
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff


@pytest.fixture
def case(db, new_case, applicant):
    """An in-review 印鑑 case filed by a proxy, so it has an attachment."""
    return new_case("inkan-shomei", "in_review")


def case_routes(submission) -> list[tuple[str, str]]:
    base = f"/office/cases/{submission.id}"
    routes = [("GET", base), ("GET", f"{base}/document")] + [
        ("POST", f"{base}/{verb}")
        for verb in ("claim", "approve", "return", "reject", "comment", "reassign", "sensitive")
    ]
    if submission.attachments:
        routes.append(("GET", f"{base}/attachments/{submission.attachments[0].id}"))
    return routes


def _client_as(app, db, email, office, roles):
    _staff, password, secret = make_staff(db, email, office, roles)
    client = app.test_client()
    sign_in_staff(client, email, password, secret)
    return client


def _hit(client, method, url, token):
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": token, "message": "x", "reason": "x", "text": "x",
                                          "assignee": "1"})
    response.close()
    return response


def _snapshot(db):
    db.session.expire_all()
    return (
        [(s.id, s.state, s.current_step) for s in db.session.scalars(sa.select(Submission))],
        db.session.scalar(sa.select(sa.func.count()).select_from(SubmissionHistory)),
        [(a.id, a.state, a.assignee_id) for a in db.session.scalars(sa.select(Approval))],
    )


def test_same_office_staff_reach_the_case(app, db, case):
    clerk = _client_as(app, db, "suzuki@city.example.jp", "shimin", ["clerk"])
    for method, url in case_routes(case):
        if method == "GET":
            assert _hit(clerk, method, url, None).status_code == 200, url


def test_staff_of_another_office_can_neither_see_nor_act(app, db, case):
    outsider = _client_as(app, db, "kodomo@city.example.jp", "kodomo", ["clerk", "approver", "admin"])
    token = csrf_token(outsider.get("/office/"))
    before = _snapshot(db)
    views_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "case.view"))
    for method, url in case_routes(case):
        assert _hit(outsider, method, url, token).status_code == 404, (method, url)
    assert _snapshot(db) == before
    assert case.receipt_number not in outsider.get("/office/?tab=all").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "case.view")) == views_before


def test_a_resident_gets_403_or_404(app, db, case):
    make_resident(db, "someone@example.jp")
    resident = app.test_client()
    sign_in_resident(resident, "someone@example.jp")
    token = csrf_token(resident.get("/submissions"))
    before = _snapshot(db)
    for method, url in [("GET", "/office/"), *case_routes(case)]:
        response = _hit(resident, method, url, token)
        assert response.status_code in (403, 404) or (
            response.status_code == 302 and "/office/sign-in" in response.headers["Location"]), (method, url)
    assert _snapshot(db) == before


def test_anonymous_is_sent_to_sign_in(app, db, case):
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/office/sign-in"))
    before = _snapshot(db)
    for method, url in [("GET", "/office/"), *case_routes(case)]:
        response = _hit(anonymous, method, url, token)
        assert response.status_code == 302 and "/office/sign-in" in response.headers["Location"], (method, url)
    assert _snapshot(db) == before


def test_l10_a_staff_read_of_the_case_document_is_audited(app, db, case):
    from app.audit.models import AuditEvent
    from app.documents import service as documents

    staff, password, secret = make_staff(db, "reader@city.example.jp", "shimin", ["clerk"])
    client = app.test_client()
    sign_in_staff(client, staff.email, password, secret)
    response = client.get(f"/office/cases/{case.id}/document")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "document.read")).all()
    document = documents.current_document(case.id)
    assert (event.actor_id, event.subject_id, event.data) == (
        staff.id, case.id, {"document": document.id, "revision": document.latest.seq})
