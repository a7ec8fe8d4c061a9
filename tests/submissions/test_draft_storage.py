"""M9: a draft keeps only its page's fields, bounded, and nothing at all from a request whose CSRF token
does not match (the review: an 11 MB POST was stored, and a POST without a token stored
``zz_arbitrary_key``). L3: entries kept across an idle sign-out ride encrypted in the cookie. L8: an
anonymous POST to a draft page answers the same whether the draft exists or not."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask.sessions import SecureCookieSessionInterface

from app.submissions.models import Submission
from tests.support.filing import page_data
from tests.support.http import csrf_token


def _start(client, slug):
    page = client.get(f"/forms/{slug}")
    response = client.post(f"/forms/{slug}/start", data={"csrf_token": csrf_token(page)})
    return response.headers["Location"]


def _pending(db) -> dict:
    db.session.expire_all()
    submission = db.session.scalars(sa.select(Submission)).one()
    return (submission.progress or {}).get("pending", {})


def test_m9_nothing_is_stored_when_the_csrf_token_is_wrong(resident_client, definitions, db):
    location = _start(resident_client, "juminhyo")
    data = page_data(definitions["juminhyo"]["pages"][0], {}, {})
    data.update(zz_arbitrary_key="planted", action="back")
    for token in (None, "forged"):
        posted = dict(data) if token is None else {**data, "csrf_token": token}
        response = resident_client.post(location, data=posted)
        assert response.status_code == 200 and 'value="山田"' in response.get_data(as_text=True)  # shown, not kept
    assert _pending(db) == {}


def test_m9_only_the_pages_fields_are_kept_and_each_is_bounded(resident_client, definitions, db):
    location = _start(resident_client, "juminhyo")
    page = definitions["juminhyo"]["pages"][0]
    data = page_data(page, {}, {})
    field = next(f["name"] for f in page["fields"] if f["type"] == "address")
    data.update({field: "あ" * 5000, "zz_arbitrary_key": "planted", "action": "back",
                 "csrf_token": csrf_token(resident_client.get(location))})
    assert resident_client.post(location, data=data).status_code == 302
    pending = _pending(db)[page["id"]]
    assert "zz_arbitrary_key" not in pending and "csrf_token" not in pending and "action" not in pending
    assert len(pending[field][0]) == 2000


def test_m9_a_huge_page_is_not_stored(resident_client, definitions, db):
    """11 MB in one field, as in the review: the draft does not become storage."""
    location = _start(resident_client, "juminhyo")
    page = definitions["juminhyo"]["pages"][0]
    data = page_data(page, {}, {})
    field = next(f["name"] for f in page["fields"] if f["type"] == "address")
    many = {f"{field}-{i}": "x" * 2000 for i in range(5000)}  # 10 MB of sub-keys of one field
    data.update(many, csrf_token=csrf_token(resident_client.get(location)), action="back")
    resident_client.post(location, data=data)
    assert len(json.dumps(_pending(db)).encode()) <= 64 * 1024


def test_l3_the_stash_in_the_cookie_is_encrypted(app, resident_client, definitions):
    location = _start(resident_client, "juminhyo")
    token = csrf_token(resident_client.get(location))
    with resident_client.session_transaction() as session:
        session["last_seen"] = 0  # idle far past the limit
    data = page_data(definitions["juminhyo"]["pages"][0], {}, {})
    data.update(csrf_token=token, action="next")
    assert resident_client.post(location, data=data).status_code == 302
    cookie = resident_client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    # Whoever holds the cookie reads it without the key (signed, not encrypted) — but not the stash.
    readable = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    assert isinstance(readable["stash"], bytes) and "山田" not in json.dumps(readable, default=repr, ensure_ascii=False)


def test_l8_an_anonymous_post_answers_the_same_for_any_draft_id(app, resident_client, db):
    location = _start(resident_client, "juminhyo")
    existing = int(location.split("/")[2])
    anonymous = app.test_client()
    answers = {anonymous.post(f"/drafts/{sid}/pages/{page}", data={"x": "y"}).status_code
               for sid in (existing, existing + 1000) for page in ("x", "applicant")}
    assert answers == {302}
