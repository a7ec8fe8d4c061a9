"""Filing all three demo forms end to end over HTTP, on the real database."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.submissions.models import Submission
from app.submissions.receipts import ALPHABET
from tests.support.filing import file_form

RECEIPT_RE = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


@pytest.mark.parametrize("slug", ["juminhyo", "tenkyo", "inkan-shomei"])
def test_resident_files_each_form_and_sees_its_status(resident_client, definitions, db, slug, run_worker):
    receipt = file_form(resident_client, definitions[slug])

    assert RECEIPT_RE.match(receipt)
    submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
    assert submission.state == "submitted"
    assert submission.form_version.slug == slug
    assert [h.action for h in submission.history] == ["submit"]
    mine = resident_client.get("/submissions").get_data(as_text=True)
    assert receipt in mine and "提出済み" in mine
    status = resident_client.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "審査状況" in status and receipt in status and "提出済み" in status
    assert run_worker() >= 1  # the confirmation mail leaves through the worker


def test_answers_are_normalised_as_residents_type_them(resident_client, definitions, db):
    receipt = file_form(resident_client, definitions["juminhyo"])
    submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
    values = list(submission.answers.values())
    names = [v for v in values if isinstance(v, dict) and "family_kana" in v]
    assert names and names[0]["family_kana"] == "ヤマダ" and names[0]["given_kana"] == "ハナコ"
    assert "100-0001" in values
    assert "1958-05-01" in values  # 昭和33年5月1日 typed with a full-width year


def test_my_number_is_encrypted_at_rest_and_masked(resident_client, definitions, db):
    receipt = file_form(resident_client, definitions["tenkyo"])
    submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
    raw = db.session.execute(
        sa.text("SELECT answers, sensitive_answers FROM submissions WHERE id = :id"), {"id": submission.id}
    ).one()
    assert "123456789018" not in str(raw.answers)
    assert b"123456789018" not in bytes(raw.sensitive_answers)
    status = resident_client.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "123456789018" not in status and "9018" in status


def test_the_confirmation_mail_carries_the_receipt_number(resident_client, definitions, smtp_server, run_worker):
    receipt = file_form(resident_client, definitions["juminhyo"])
    run_worker()
    smtp_server.wait_for(1)
    message = smtp_server.messages[-1]
    assert message["To"] == "hanako@example.jp"
    assert receipt in message["Subject"]
    assert receipt in message.get_body(("plain",)).get_content()


def test_withdraw_before_a_decision(resident_client, definitions, db):
    receipt = file_form(resident_client, definitions["juminhyo"])
    submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
    page = resident_client.get(f"/submissions/{submission.id}/withdraw")
    from tests.support.http import csrf_token

    token = csrf_token(page)
    assert resident_client.post(f"/submissions/{submission.id}/withdraw", data={"csrf_token": token}).status_code == 302
    # A second click changes nothing and does not fail.
    assert resident_client.post(f"/submissions/{submission.id}/withdraw", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    submission = db.session.get(Submission, submission.id)
    assert submission.state == "withdrawn"
    assert [h.action for h in submission.history] == ["submit", "withdraw"]
    assert "取下げ" in resident_client.get(f"/submissions/{submission.id}").get_data(as_text=True)
