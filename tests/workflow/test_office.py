"""The back office over HTTP: queues, the case page, actions, notifications, and who looked."""

from __future__ import annotations

import re

import pytest

from app.submissions.models import Submission
from tests.support.accounts import sign_in_resident
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff


@pytest.fixture
def office_client(app, db, catalogue):
    """office_client(email, office, roles) → an HTTP client signed in as that staff member (with TOTP)."""

    def build(email: str, office: str, roles: list[str]):
        staff, password, secret = make_staff(db, email, office, roles)
        client = app.test_client()
        sign_in_staff(client, email, password, secret)
        client.staff = staff
        return client

    return build


def _post(client, url, **data):
    page = client.get(url.rsplit("/", 1)[0])
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def test_clerk_returns_resident_resubmits_then_clerk_and_approver_approve(
        app, db, new_case, office_client, applicant, run_worker, smtp_server):
    submission = new_case("juminhyo", "in_review")
    clerk = office_client("suzuki@city.example.jp", "shimin", ["clerk"])
    approver = office_client("kacho@city.example.jp", "shimin", ["approver"])

    queue = clerk.get("/office/").get_data(as_text=True)
    assert submission.receipt_number in queue
    case_url = f"/office/cases/{submission.id}"
    assert "承認して押印する" in clerk.get(case_url).get_data(as_text=True)
    response = _post(clerk, f"{case_url}/return", message="生年月日をもう一度確認してください。")
    assert response.status_code == 302

    resident = app.test_client()
    sign_in_resident(resident, applicant.email)
    status = resident.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "差し戻し" in status and "生年月日をもう一度確認してください。" in status
    check = resident.get(f"/drafts/{submission.id}").headers["Location"]
    assert check.endswith("/check")
    page = resident.get(check)
    response = resident.post(f"/drafts/{submission.id}/submit", data={"csrf_token": csrf_token(page),
                                                                      "declaration": "y"})
    assert response.status_code == 302
    run_worker()

    assert _post(clerk, f"{case_url}/approve").status_code == 302
    run_worker()  # the 受付 seal
    assert _post(approver, f"{case_url}/approve").status_code == 302
    run_worker()  # the 決裁 seal, then the organisation seal
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).state == "approved"
    assert "承認済み" in resident.get(f"/submissions/{submission.id}").get_data(as_text=True)

    # Every state change reached the resident by mail, in their language, with the status link.
    # (The approved document also went by e-mail to a destination: those messages are not the resident's.)
    run_worker()
    to_resident = [m for m in smtp_server.messages if m["To"] == applicant.email]
    assert len(to_resident) >= 4
    assert all(f"/submissions/{submission.id}" in m.get_body(("plain",)).get_content() for m in to_resident)


def test_reject_needs_a_reason(db, new_case, office_client):
    submission = new_case("juminhyo", "in_review")
    clerk = office_client("suzuki@city.example.jp", "shimin", ["clerk"])
    response = _post(clerk, f"/office/cases/{submission.id}/reject", reason="")
    assert response.status_code == 422 and "却下の理由を入力してください" in response.get_data(as_text=True)
    assert _post(clerk, f"/office/cases/{submission.id}/reject", reason="対象外です。").status_code == 302
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).state == "rejected"


def test_the_resident_sees_who_looked(app, db, new_case, office_client, applicant):
    submission = new_case("juminhyo", "in_review")
    clerk = office_client("suzuki@city.example.jp", "shimin", ["clerk"])
    clerk.get(f"/office/cases/{submission.id}")
    resident = app.test_client()
    sign_in_resident(resident, applicant.email)
    status = resident.get(f"/submissions/{submission.id}").get_data(as_text=True)
    section = status.split("この申請を見た職員", 1)[1]
    assert "市民課" in section and "閲覧" in section
    assert "suzuki" not in section  # the office and role, never the person's name or address


def test_queue_search_filters_and_pages(db, new_case, office_client):
    cases = [new_case("juminhyo", "in_review") for _ in range(3)]
    clerk = office_client("suzuki@city.example.jp", "shimin", ["clerk"])
    html = clerk.get(f"/office/?q={cases[1].receipt_number.replace('-', '').lower()}").get_data(as_text=True)
    assert cases[1].receipt_number in html and cases[0].receipt_number not in html
    html = clerk.get("/office/?tab=all&state=in_review").get_data(as_text=True)
    assert all(c.receipt_number in html for c in cases)
    from app.workflow import queue

    queue.PAGE_SIZE, saved = 2, queue.PAGE_SIZE
    try:
        first = clerk.get("/office/").get_data(as_text=True)
        next_url = re.search(r'href="(/office/\?[^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
        second = clerk.get(next_url).get_data(as_text=True)
    finally:
        queue.PAGE_SIZE = saved
    assert cases[0].receipt_number in first and cases[2].receipt_number in second
    assert cases[2].receipt_number not in first


def test_an_overdue_case_is_flagged_in_words(db, new_case, office_client):
    import datetime as dt

    from app.db import utcnow

    late, fresh = new_case("juminhyo", "in_review"), new_case("juminhyo", "in_review")
    days = late.form_version.definition["service_level_days"]
    late.submitted_at = utcnow() - dt.timedelta(days=days + 1)
    db.session.commit()
    clerk = office_client("suzuki@city.example.jp", "shimin", ["clerk"])
    rows = clerk.get("/office/").get_data(as_text=True).split("<tr>")
    late_row = next(r for r in rows if late.receipt_number in r)
    fresh_row = next(r for r in rows if fresh.receipt_number in r)
    assert "期限超過" in late_row and "期限超過" not in fresh_row


def test_search_by_receipt_number_or_by_name(db, new_case, office_client):
    """A receipt number as printed (or with a digit) is looked up by its index; other text also matches names."""
    cases = [new_case("juminhyo", "in_review") for _ in range(2)]
    cases[0].applicant_name, cases[1].applicant_name = "窓口 花子", "窓口 次郎"
    db.session.commit()
    clerk = office_client("suzuki@city.example.jp", "shimin", ["clerk"])
    for typed in (cases[0].receipt_number, cases[0].receipt_number.lower(), f" {cases[0].receipt_number} "):
        html = clerk.get("/office/", query_string={"tab": "all", "q": typed}).get_data(as_text=True)
        assert cases[0].receipt_number in html and cases[1].receipt_number not in html, typed
    html = clerk.get("/office/", query_string={"tab": "all", "q": "次郎"}).get_data(as_text=True)
    assert cases[1].receipt_number in html and cases[0].receipt_number not in html
    html = clerk.get("/office/", query_string={"tab": "all", "q": "窓口", "sort": "newest"}).get_data(as_text=True)
    assert html.index(cases[1].receipt_number) < html.index(cases[0].receipt_number)
