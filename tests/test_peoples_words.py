"""People's words, everywhere: no machine name or internal code reaches a person.

Walks every GET route of the app that answers with an HTML page (``app.url_map``; not /api/v1,
/healthz, /dev/*, /static, /pki or a download), with every value of its parameters that the data
below gives, for a case in each of the seven states, as the resident who filed them, as a member of
staff and as nobody; then reads every mail the service wrote. Each page's visible text (and the
attributes people hear: title, alt, aria-label, placeholder) must hold no snake_case word, no dotted
action name (``submission.approve``), no route step key (``uketsuke``, ``org-seal``, ``step-1-...``)
and no form slug (``juminhyo``). Every page also carries the footer with the municipality and the
links about the service.
"""

from __future__ import annotations

import email
import email.policy
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.accounts.models import Staff
from app.catalogue.service import published_forms
from app.delivery.models import Destination
from app.documents.models import Document
from app.submissions import service as submissions
from app.submissions.models import Submission
from app.workflow import service as workflow
from tests.support.accounts import sign_in_resident
from tests.support.staff import make_staff, sign_in_staff

SNAKE = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![A-Za-z0-9_])")
DOTTED = re.compile(r"(?<![A-Za-z0-9_.])[a-z]+(?:\.[a-z_]+)+(?![A-Za-z0-9_.])")
STEP_FIELD = re.compile(r"\bstep-\d+-")
#: What people legitimately read that the patterns above would catch: stripped before checking.
ALLOWED = [
    re.compile(r"\S+@\S+"),  # e-mail addresses (example.jp)
    re.compile(r"https?://\S+"),  # addresses, printed in mails and on pages
    re.compile(r"\S+\.(?:pdf|png|jpe?g)\b"),  # an uploaded file's own name
]
#: Routes that do not answer with a page for people.
NOT_PAGES = ("/api/", "/healthz", "/dev/", "/static/", "/pki/", "/session", "/office/session")
#: Downloads: files, not pages.
DOWNLOAD_ARGS = {"attachment_id", "number", "filename", "name"}
DOWNLOAD_ENDPOINTS = {"office.document", "submissions.document"}


class VisibleText(HTMLParser):
    """The text a person reads or hears: text nodes (not scripts, styles or a labelled technical
    disclosure) and the attributes that are spoken or shown."""

    SPOKEN = ("title", "alt", "aria-label", "placeholder")
    SKIP = ("script", "style")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in self.SKIP or "technical" in (attributes.get("class") or "").split():
            self.skipping.append(tag)
            return
        if self.skipping:
            return
        if tag == "input" and attributes.get("type") == "hidden":
            return
        self.parts += [attributes[name] for name in self.SPOKEN if attributes.get(name)]
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def machine_words(text: str, step_keys: set[str]) -> list[str]:
    for pattern in ALLOWED:
        text = pattern.sub(" ", text)
    found = SNAKE.findall(text) + DOTTED.findall(text) + STEP_FIELD.findall(text)
    words = set(re.findall(r"(?<![A-Za-z0-9_-])[a-z][a-z-]*(?![A-Za-z0-9_-])", text))
    return found + sorted(words & step_keys)


@pytest.fixture
def seven_states(db, app, applicant, staff, new_case, approve, approve_case, run_worker):
    """A case of the resident in every state, and a draft: {state: submission}."""
    cases = {}
    cases["in_review"] = new_case("juminhyo", "in_review")
    returned = new_case("juminhyo", "in_review")
    workflow.return_for_correction(returned.id, staff["clerk"], "生年月日の年号をご確認ください。")
    rejected = new_case("inkan-shomei", "in_review")
    workflow.reject(rejected.id, staff["clerk"], "印鑑登録の記録が見つかりません。")
    withdrawn = new_case("juminhyo", "in_review")
    submissions.withdraw(db.session.get(Submission, withdrawn.id))
    db.session.commit()
    # Approved: a 転居届 through its four steps, with the care office's consent (so it is delivered), and a
    # 住民票 (no receiver at all).
    moved = new_case("tenkyo", "in_review", {"kaigo-hikari": True})
    for member in ("clerk", "clerk2", "zeimu", "fukushi", "approver"):
        approve(moved.id, staff[member])
    cases["approved"] = moved
    cases["approved_juminhyo"] = approve_case("juminhyo")
    run_worker()  # notices, page images, mail, deliveries
    cases.update(returned=returned, rejected=rejected, withdrawn=withdrawn)
    cases["submitted"] = new_case("juminhyo", "submitted")  # after the last worker pass: still submitted
    cases["draft"] = new_case("tenkyo", "draft")
    db.session.expire_all()
    found = {name: db.session.get(Submission, case.id) for name, case in cases.items()}
    assert {case.state for case in found.values()} == {
        "draft", "submitted", "in_review", "returned", "rejected", "approved", "withdrawn"}
    return found


def _values(app, db, cases) -> dict[str, list]:
    codes = [d.verification_code for d in db.session.scalars(sa.select(Document)) if d.verification_code]
    pages = sorted({page["id"] for case in cases.values() for page in case.form_version.definition["pages"]})
    return {
        "submission_id": [case.id for case in cases.values()] + [999999],
        "page_id": pages,
        "slug": [form.slug for form in published_forms()],
        "code": codes + ["0000-0000-0000-0000"],
        "destination_id": list(db.session.scalars(sa.select(Destination.id))),
        "staff_id": list(db.session.scalars(sa.select(Staff.id))),
        "token": ["not-a-real-token"],
        "kind": ["sign-up", "reset"],
    }


def _urls(app, values) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(NOT_PAGES) or rule.endpoint in DOWNLOAD_ENDPOINTS:
            continue
        if rule.arguments & DOWNLOAD_ARGS or not rule.arguments <= set(values):
            assert rule.arguments & DOWNLOAD_ARGS, f"no values for the parameters of {rule.rule}: add them"
            continue
        combos = [{}]
        for name in sorted(rule.arguments):
            combos = [{**combo, name: value} for combo in combos for value in values[name]]
        with app.test_request_context():
            from flask import url_for

            for combo in combos:
                try:
                    urls.append(url_for(rule.endpoint, **combo))
                except Exception:  # noqa: BLE001 — a value its converter refuses (kind="x" on any(...))
                    continue
    return sorted(set(urls))


def test_no_machine_words_on_any_page_or_mail(app, db, seven_states, applicant, staff, client):
    # Route step keys, and the forms' slugs: names for machines, never for people.
    step_keys = {"org-seal"} | {step["step"] for form in published_forms() for step in form.definition["route"]} \
        | {form.slug for form in published_forms()}
    values = _values(app, db, seven_states)
    urls = _urls(app, values)
    assert any(url.startswith("/office/cases/") for url in urls) and any("/pages/" in url for url in urls)

    resident = app.test_client()
    sign_in_resident(resident, applicant.email)
    admin, password, secret = make_staff(db, "kanri@city.example.jp", "shimin", ["clerk", "approver", "admin"])
    office = app.test_client()
    sign_in_staff(office, admin.email, password, secret)
    actors = {"anonymous": client, "resident": resident, "staff": office}

    problems, pages = [], 0
    municipality = app.config["MADOGUCHI_MUNICIPALITY"]
    for actor, http in actors.items():
        for url in urls:
            response = http.get(url)
            if response.status_code in (301, 302, 303) or response.mimetype != "text/html":
                continue
            pages += 1
            html = response.get_data(as_text=True)
            found = machine_words(visible_text(html), step_keys)
            if found:
                problems.append(f"{actor} {url} ({response.status_code}): {sorted(set(found))}")
            footer = html.rsplit("<footer", 1)[-1]
            if municipality not in footer or "/privacy" not in footer or "/accessibility" not in footer \
                    or "/contact" not in footer:
                problems.append(f"{actor} {url}: the footer lacks the municipality or the links about the service")
    assert pages > 100, pages

    mail_folder = Path(app.config["INSTANCE_PATH"]) / "mail"
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in mail_folder.glob("*.eml")]
    assert len(mails) >= 6
    for message in mails:
        body = message.get_body(("plain",))
        text = message["Subject"] + "\n" + (body.get_content() if body is not None else "")
        found = machine_words(text, step_keys)
        if found:
            problems.append(f"mail {message['Subject']}: {sorted(set(found))}")
    assert not problems, "\n".join(problems)


def test_the_scanner_catches_what_it_looks_for():
    keys = {"uketsuke", "kessai", "org-seal"}
    html = ('<p>状態：submission.approve と in_review（uketsuke）</p><td>step-1-uketsuke-shimin</td>'
            '<p title="org-seal">x</p><script>var a_b = 1;</script><p>hanako@example.jp http://x.test/a_b 控え.pdf</p>'
            '<details class="technical"><p lang="en">URLError: destination_code</p></details>')
    assert sorted(set(machine_words(visible_text(html), keys))) == [
        "in_review", "org-seal", "step-1-", "submission.approve", "uketsuke"]
