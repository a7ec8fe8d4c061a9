"""Nothing typed is lost: validation errors, an expired CSRF token or session, the back button, a double click."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from app.submissions.models import Submission
from tests.support.accounts import sign_in_resident
from tests.support.filing import file_form, page_data
from tests.support.http import csrf_token


def _start(client, slug):
    page = client.get(f"/forms/{slug}")
    response = client.post(f"/forms/{slug}/start", data={"csrf_token": csrf_token(page)})
    return response.headers["Location"]


def _first_page(definitions, slug):
    return definitions[slug]["pages"][0]


def test_a_validation_error_keeps_the_entries_and_names_the_field(resident_client, definitions, db):
    location = _start(resident_client, "juminhyo")
    page = _first_page(definitions, "juminhyo")
    form_page = resident_client.get(location)
    data = page_data(page, {}, {})
    postcode_field = next(f["name"] for f in page["fields"] if f["type"] == "postcode")
    data[postcode_field] = "12345"
    data.update(csrf_token=csrf_token(form_page), action="next")
    response = resident_client.post(location, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in html and f'href="#{postcode_field}"' in html
    assert "郵便番号" in html and 'aria-invalid="true"' in html
    assert 'value="山田"' in html and 'value="12345"' in html  # entries re-shown as typed
    # The draft kept them too: leaving and coming back shows them again.
    again = resident_client.get(location).get_data(as_text=True)
    assert 'value="山田"' in again and 'value="12345"' in again


def test_an_expired_csrf_token_keeps_the_entries(resident_client, definitions):
    location = _start(resident_client, "juminhyo")
    page = _first_page(definitions, "juminhyo")
    data = page_data(page, {}, {})
    data.update(csrf_token="expired-or-forged", action="next")
    response = resident_client.post(location, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "入力内容は残っています" in html and 'value="山田"' in html


def test_an_expired_session_keeps_the_entries_across_sign_in(app, resident_client, resident, definitions):
    location = _start(resident_client, "juminhyo")
    page = _first_page(definitions, "juminhyo")
    token = csrf_token(resident_client.get(location))
    with resident_client.session_transaction() as session:
        session["last_seen"] = 0  # idle far past the limit
    data = page_data(page, {}, {})
    data.update(csrf_token=token, action="next")
    response = resident_client.post(location, data=data)
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
    sign_in_resident(resident_client, resident.email)
    html = resident_client.get(location).get_data(as_text=True)
    assert "復元しました" in html and 'value="山田"' in html


def test_back_keeps_unvalidated_entries(resident_client, definitions):
    location = _start(resident_client, "tenkyo")
    page = _first_page(definitions, "tenkyo")
    data = page_data(page, {}, {})
    first_text = next(k for k, v in data.items() if isinstance(v, str) and v)
    data.update(csrf_token=csrf_token(resident_client.get(location)), action="back")
    resident_client.post(location, data=data)
    assert f'value="{data[first_text]}"' in resident_client.get(location).get_data(as_text=True)


def test_a_double_submit_makes_exactly_one_submission(resident_client, definitions, db):
    file_form(resident_client, definitions["juminhyo"])
    submission = db.session.scalar(sa.select(Submission))
    token = csrf_token(resident_client.get("/submissions"))
    again = resident_client.post(f"/drafts/{submission.id}/submit", data={"csrf_token": token, "declaration": "y"})
    assert again.status_code == 302 and "/confirmation" in again.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
    assert [h.action for h in db.session.get(Submission, submission.id).history] == ["submit"]


def test_starting_twice_resumes_the_same_draft(resident_client, db):
    first = _start(resident_client, "juminhyo")
    second = _start(resident_client, "juminhyo")
    assert first == second
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1


def test_the_proxy_page_appears_only_for_a_proxy_and_demands_the_power_of_attorney(resident_client, definitions):
    definition = definitions["inkan-shomei"]
    location = _start(resident_client, "inkan-shomei")
    first = definition["pages"][0]
    data = page_data(first, {}, {"applicant_role": "proxy"})
    data.update(csrf_token=csrf_token(resident_client.get(location)), action="next")
    response = resident_client.post(location, data=data)
    # Walk forward until the proxy page is reached.
    proxy_page = next(p for p in definition["pages"] if p.get("show_if"))
    while proxy_page["id"] not in response.headers["Location"]:
        location = response.headers["Location"]
        page = next(p for p in definition["pages"] if p["id"] == location.rsplit("/", 1)[-1])
        data = page_data(page, {"applicant_role": "proxy"}, {})
        data.update(csrf_token=csrf_token(resident_client.get(location)), action="next")
        response = resident_client.post(location, data=data, content_type="multipart/form-data")
    location = response.headers["Location"]
    data = page_data(proxy_page, {}, {})
    file_field = next(f["name"] for f in proxy_page["fields"] if f["type"] == "file")
    # An HTML file named .png is refused: the type is sniffed from the content.
    data[file_field] = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "ininjo.png")
    data.update(csrf_token=csrf_token(resident_client.get(location)), action="next")
    refused = resident_client.post(location, data=data, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert re.search(r"＊[^<]*(PDF|種類)", refused.get_data(as_text=True))
    data.pop(file_field)
    data.update(csrf_token=csrf_token(resident_client.get(location)))
    missing = resident_client.post(location, data=data, content_type="multipart/form-data")
    assert missing.status_code == 422 and "ファイルを選んでください" in missing.get_data(as_text=True)


def test_postcode_lookup_fills_the_address_without_javascript(resident_client, definitions):
    location = _start(resident_client, "juminhyo")
    page = _first_page(definitions, "juminhyo")
    address = next(f for f in page["fields"] if f["type"] == "address" and f.get("lookup_from"))
    data = page_data(page, {}, {})
    data[address["name"]] = ""
    data[address["lookup_from"]] = "１００－０００１"
    data.update(csrf_token=csrf_token(resident_client.get(location)), action=f"lookup:{address['name']}")
    html = resident_client.post(location, data=data).get_data(as_text=True)
    assert "東京都千代田区千代田" in html
    assert "＊" not in html  # looking up is not submitting: no errors shown


def test_household_members_can_be_added_and_removed(resident_client, definitions):
    definition = definitions["tenkyo"]
    group_page = next(p for p in definition["pages"] if any(f["type"] == "group" for f in p["fields"]))
    group = next(f for f in group_page["fields"] if f["type"] == "group")
    location = _start(resident_client, "tenkyo").rsplit("/", 1)[0] + "/" + group_page["id"]
    token = csrf_token(resident_client.get(location))
    html = resident_client.post(location, data={"csrf_token": token, "action": f"add:{group['name']}"}).get_data(
        as_text=True)
    assert f'name="{group["name"]}-0-' in html and f'name="{group["name"]}-1-' not in html
    html = resident_client.post(location, data={"csrf_token": token, "action": f"remove:{group['name']}:0",
                                                f"{group['name']}-0-{group['fields'][0]['name']}": "x"}).get_data(
        as_text=True)
    assert f'name="{group["name"]}-0-' not in html
