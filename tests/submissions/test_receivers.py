"""Where the data goes, said before it goes: the check page names each receiver with its purpose and
legal basis; a receiver outside the city government has an unticked consent box; without the tick the
case is filed all the same, no delivery is written for that receiver, and the pages say so."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.delivery.models import Delivery
from app.submissions.models import Submission
from app.workflow import service as workflow
from tests.support.filing import fill_pages
from tests.support.http import csrf_token

TENKYO_ROUTE = ("clerk", "clerk2", "zeimu", "fukushi", "approver")


def check_page(client, definitions, slug: str):
    start = client.get(f"/forms/{slug}")
    response = client.post(f"/forms/{slug}/start", data={"csrf_token": csrf_token(start)})
    return client.get(fill_pages(client, response.headers["Location"], definitions[slug]))


def submit(client, check, **extra) -> Submission:
    html = check.get_data(as_text=True)
    url = re.search(r'action="(/drafts/\d+/submit)"', html).group(1)
    response = client.post(url, data={"csrf_token": csrf_token(check), "declaration": "y", **extra})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(url.split("/")[2])


def approve_all(db, submission_id: int, staff, run_worker) -> None:
    run_worker()
    for member in TENKYO_ROUTE:
        workflow.approve(submission_id, staff[member])
        db.session.commit()
        run_worker()


def delivered_to(db, submission_id: int) -> list[str]:
    db.session.expire_all()
    return sorted(d.destination.code for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.submission_id == submission_id)))


def test_the_check_page_names_each_receiver_and_asks_consent_for_an_outside_one(resident_client, definitions):
    html = check_page(resident_client, definitions, "tenkyo").get_data(as_text=True)
    assert "承認後、次の機関に送付します。" in html
    assert "上下水道課" in html and "料金のお知らせを新しい住所に届けるため" in html and "市役所の中の課" in html
    assert "ひかり居宅介護支援事業所" in html and "担当ケアマネジャー" in html and "ご本人の同意" in html
    boxes = re.findall(r'<input type="checkbox" id="consent-([^"]+)"[^>]*>', html)
    assert boxes == ["kaigo-hikari"]  # the city's own division needs no consent
    box = re.search(r'<input type="checkbox" id="consent-kaigo-hikari"[^>]*>', html).group(0)
    assert "checked" not in box
    assert "ひかり居宅介護支援事業所への送付に同意します" in html


def test_without_the_tick_the_case_is_filed_and_nothing_goes_to_that_receiver(
        resident_client, definitions, db, staff, pki, run_worker, client):
    submission_id = submit(resident_client, check_page(resident_client, definitions, "tenkyo"))
    case = db.session.get(Submission, submission_id)
    assert case.state == "submitted" and case.destination_consents == {"kaigo-hikari": False}
    approve_all(db, submission_id, staff, run_worker)
    assert db.session.get(Submission, submission_id).state == "approved"
    assert delivered_to(db, submission_id) == ["suido"]

    status = resident_client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert "送付に同意されなかったため、送付しません。" in status
    from tests.support.staff import make_staff, sign_in_staff

    member, password, secret = make_staff(db, "kakunin@city.example.jp", "shimin", ["clerk"])
    sign_in_staff(client, member.email, password, secret)
    case_page = client.get(f"/office/cases/{submission_id}").get_data(as_text=True)
    assert "申請者が送付に同意しなかったため、送付しません。" in case_page


def test_with_the_tick_the_receiver_gets_its_delivery(resident_client, definitions, db, staff, pki, run_worker):
    submission_id = submit(resident_client, check_page(resident_client, definitions, "tenkyo"),
                           consent="kaigo-hikari")
    assert db.session.get(Submission, submission_id).destination_consents == {"kaigo-hikari": True}
    approve_all(db, submission_id, staff, run_worker)
    assert delivered_to(db, submission_id) == ["kaigo-hikari", "suido"]


def test_a_consent_for_a_receiver_the_form_does_not_name_is_ignored(resident_client, definitions, db):
    submission_id = submit(resident_client, check_page(resident_client, definitions, "tenkyo"),
                           consent=["homukyoku", "suido"])
    assert db.session.get(Submission, submission_id).destination_consents == {"kaigo-hikari": False}


def test_a_form_that_sends_nowhere_says_so(resident_client, definitions):
    html = check_page(resident_client, definitions, "juminhyo").get_data(as_text=True)
    assert "この申請の内容を、ほかの機関に送付することはありません。" in html and 'name="consent"' not in html


def test_a_missing_declaration_keeps_the_ticks(resident_client, definitions):
    check = check_page(resident_client, definitions, "tenkyo")
    url = re.search(r'action="(/drafts/\d+/submit)"', check.get_data(as_text=True)).group(1)
    again = resident_client.post(url, data={"csrf_token": csrf_token(check), "consent": "kaigo-hikari"})
    assert again.status_code == 422
    box = re.search(r'<input type="checkbox" id="consent-kaigo-hikari"[^>]*>', again.get_data(as_text=True)).group(0)
    assert "checked" in box
