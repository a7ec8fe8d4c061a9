"""The errand, start to finish, as the resident meets it over HTTP: the fee, how to receive and to pay
and how long it takes, before starting, on the check page, on the confirmation and status pages and in
the mail; one mail per thing to know; the return mail says what to fix and leads there; the approval
says what to do now; what the resident downloads is named for what it is."""

from __future__ import annotations

import re
import subprocess

import pytest
import sqlalchemy as sa

from app.documents import service as documents
from app.submissions.models import Submission
from app.workflow import service as workflow
from tests.support.accounts import mail_body, written_mail
from tests.support.filing import file_form
from tests.support.http import csrf_token

#: 住民票 v4: two copies, by post.
BY_POST = {"copies": "２", "receive_method": "post"}
CODE_RE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")


def case_of(db, receipt: str) -> Submission:
    db.session.expire_all()
    return db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))


def test_the_start_page_says_the_fee_how_to_receive_and_pay_and_how_long(client, catalogue):
    html = client.get("/forms/juminhyo").get_data(as_text=True)
    assert "手数料は1通300円です。" in html
    assert "窓口で受け取る" in html and "郵送で受け取る" in html
    assert "平日 8時30分から17時15分まで" in html and "本人確認書類" in html  # the counter's hours, what to bring
    assert "定額小為替" in html and "オンライン決済（準備中です。現在はご利用いただけません）" in html
    assert "申請から通常5日以内" in html
    assert "<a" not in html.split("オンライン決済")[1].split("</li>")[0]  # 準備中: no link at all
    tenkyo = client.get("/forms/tenkyo").get_data(as_text=True)
    assert "手数料はかかりません。" in tenkyo


def test_fees_and_next_steps_on_the_check_and_confirmation_pages_and_in_the_one_receipt_mail(
        app, resident_client, definitions, db, run_worker):
    receipt = file_form(resident_client, definitions["juminhyo"], BY_POST)
    case = case_of(db, receipt)
    assert case.answers["copies"] == 2 and case.answers["receive_method"] == "post"
    confirmation = resident_client.get(f"/submissions/{case.id}/confirmation").get_data(as_text=True)
    fee = "手数料は600円です（1通300円×2通）。"
    assert fee in confirmation
    assert "通常5日以内" in confirmation and "ごろまで" in confirmation
    assert "定額小為替" in confirmation and "本人限定受取郵便" in confirmation
    assert "窓口でお受け取りください" not in confirmation  # the resident chose the post

    run_worker()  # renders, enters review: no mail for that
    mails = written_mail(app, "hanako@example.jp")
    assert len(mails) == 1, [m["Subject"] for m in mails]
    body = mail_body(mails[0])
    assert receipt in mails[0]["Subject"] and fee in body and "定額小為替" in body and "通常5日以内" in body
    assert "お問い合わせ：市民課（電話 0120-000-111）" in body
    status = resident_client.get(f"/submissions/{case.id}").get_data(as_text=True)
    assert "このあとの流れ" in status and fee in status


def test_the_check_page_shows_the_total_fee(resident_client, definitions, db):
    from tests.support.filing import fill_pages

    start = resident_client.get("/forms/juminhyo")
    response = resident_client.post("/forms/juminhyo/start", data={"csrf_token": csrf_token(start)})
    check = resident_client.get(fill_pages(resident_client, response.headers["Location"], definitions["juminhyo"],
                                           {"copies": "3"}))
    assert "手数料は900円です（1通300円×3通）。" in check.get_data(as_text=True)


def test_a_return_mail_says_what_to_fix_and_leads_there_and_a_resubmission_sends_one_mail(
        app, resident_client, definitions, db, run_worker, staff, pki):
    receipt = file_form(resident_client, definitions["juminhyo"])
    run_worker()
    case = case_of(db, receipt)
    reason = "生年月日の年号を、住民票のとおりに直してください。"
    workflow.return_for_correction(case.id, staff["clerk"], reason)
    db.session.commit()
    run_worker()
    mails = written_mail(app, "hanako@example.jp")
    assert len(mails) == 2
    body = mail_body(mails[-1])
    assert "直してください" in mails[-1]["Subject"] and reason in body and "再提出する" in body
    fix_url = re.search(r"http://madoguchi\.test(/drafts/\d+)\b", body).group(1)
    response = resident_client.get(fix_url)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/drafts/{case.id}/check")
    check = resident_client.get(response.headers["Location"])
    assert reason in check.get_data(as_text=True)
    resubmitted = resident_client.post(f"/drafts/{case.id}/submit",
                                       data={"csrf_token": csrf_token(check), "declaration": "y"})
    assert resubmitted.status_code == 302
    run_worker()
    mails = written_mail(app, "hanako@example.jp")
    assert len(mails) == 3 and "再提出を受け付けました" in mails[-1]["Subject"]


def test_the_approval_says_what_to_do_now_and_the_resident_downloads_documents_named_for_what_they_are(
        app, resident_client, definitions, db, run_worker, staff, pki):
    receipt = file_form(resident_client, definitions["juminhyo"], {"receive_method": "counter"})
    run_worker()
    case = case_of(db, receipt)
    for member in ("clerk", "approver"):
        workflow.approve(case.id, staff[member])
        db.session.commit()
        run_worker()
    assert case_of(db, receipt).state == "approved"
    mails = written_mail(app, "hanako@example.jp")
    assert [m["Subject"].split("（")[0] for m in mails] == [
        "【窓口】申請を受け付けました", "【窓口】申請が承認されました"]
    body = mail_body(mails[-1])
    assert "次にしていただくこと" in body and "市民課の窓口でお受け取りください" in body
    assert "受付時間：平日 8時30分から17時15分まで" in body and "お持ちいただくもの：本人確認書類" in body
    assert "手数料は窓口でお支払いください" in body and "手数料は300円です" in body

    status = resident_client.get(f"/submissions/{case.id}").get_data(as_text=True)
    assert "次にすること" in status and "市民課の窓口でお受け取りください" in status
    assert "「申請内容の控え」（PDF）をダウンロード" in status
    assert "「審査結果のお知らせ」（PDF）をダウンロード" in status
    documents_section = status.split("<h2>書類</h2>")[1].split("<h2>")[0]
    assert "決裁" not in documents_section and documents_section.count("<li>") == 2
    assert resident_client.get(f"/submissions/{case.id}/documents/approval.pdf").status_code == 404

    notice = resident_client.get(f"/submissions/{case.id}/documents/notice.pdf")
    assert notice.status_code == 200 and "%E5%AF%A9%E6%9F%BB%E7%B5%90%E6%9E%9C" in notice.headers["Content-Disposition"]
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=notice.data, capture_output=True,
                          check=True).stdout.decode()
    assert "審査結果のお知らせ" in text and "申請を承認しました" in text and "市民課の窓口でお受け取りください" in text
    assert "証明書" in text and not CODE_RE.search(text) and "照合番号" not in text


def test_a_rejection_mail_gives_the_reason(app, resident_client, definitions, db, run_worker, staff, pki):
    receipt = file_form(resident_client, definitions["juminhyo"])
    run_worker()
    case = case_of(db, receipt)
    workflow.reject(case.id, staff["clerk"], "ご本人または同じ世帯の方だけが請求できます。")
    db.session.commit()
    run_worker()
    mails = written_mail(app, "hanako@example.jp")
    assert len(mails) == 2 and "ご本人または同じ世帯の方だけが請求できます。" in mail_body(mails[-1])
    notice = documents.current_document(case.id, "notice")
    assert notice is not None and notice.verification_code is None


@pytest.mark.parametrize("slug", ["juminhyo", "inkan-shomei"])
def test_a_form_without_a_way_to_receive_by_post_says_nothing_of_it(client, catalogue, slug):
    html = client.get(f"/forms/{slug}").get_data(as_text=True)
    assert ("郵送で受け取る" in html) == (slug == "juminhyo")
