"""The back office in real Chromium: a clerk returns a submission with a message, the resident reads
it, fixes an answer and resubmits; the clerk and then the approver approve; the resident sees 承認済み
and can download the sealed document.

The live server runs the web app only, so the background jobs (rendering the document, putting the
case on its route, seals, mail) run when the test calls ``run_worker``, as ``flask worker --once``
would between the steps. Staff sign in with their password and then the TOTP code, computed with
pyotp from the secret as an authenticator app would. Along the way axe-core checks the staff
sign-in pages, the queue and the case page (with the return form closed and open).
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.support.browser import DESKTOP, PHONE, axe_violations, enable_axe, sign_in

MESSAGE = "提出先を具体的に書いてください（例：日本年金機構）。"


def run_worker(app) -> int:
    """Every due job, once, as ``flask worker --once`` does.

    In a thread of its own: Playwright's sync API keeps an event loop running in the main thread, and
    the seal jobs call ``asyncio.run()``, which refuses to start inside a running loop.
    """
    from concurrent.futures import ThreadPoolExecutor

    from app.jobs.worker import run_due

    def run() -> int:
        with app.app_context():
            return run_due()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)


def prepare(app, resident_email: str, slug: str = "juminhyo", consents: dict | None = None
            ) -> tuple[int, str, dict[str, tuple[str, str, str]]]:
    """The seal PKI, a clerk and an approver of 市民課, and the resident's filed request (a 住民票 by default;
    ``consents``: the resident's answers for the form's external receivers).

    Returns (submission id, receipt number, {role: (email, password, totp secret)}).
    """
    from app.accounts.models import Resident
    from app.demo.answers import fill
    from app.extensions import db
    from app.seals import service as seals
    from app.submissions import service as submissions
    from tests.support.staff import make_staff

    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        seals.init_pki()  # idempotent
        db.session.commit()
        staff = {}
        for role in ("clerk", "approver"):
            email = f"{role}-{tag}@city.example.jp"
            _, password, secret = make_staff(db, email, "shimin", [role])
            staff[role] = (email, password, secret)
        resident = db.session.scalar(db.select(Resident).where(Resident.email == resident_email))
        draft = fill(resident, slug)  # filing page by page is test_resident_filing.py's
        submissions.submit(draft, consents)
        db.session.commit()
        return draft.id, draft.receipt_number, staff


def verification_code(app, submission_id: int) -> str:
    from app.documents import service as documents

    with app.app_context():
        return documents.current_document(submission_id).verification_code


def state_of(app, submission_id: int) -> str:
    from app.extensions import db
    from app.submissions.models import Submission

    with app.app_context():
        return db.session.get(Submission, submission_id).state


class Axe:
    """Collects axe-core violations of every page checked; ``assert_clean`` lists them all."""

    def __init__(self):
        self.problems: list[str] = []

    def check(self, page, name: str) -> None:
        self.problems += [f"[{name}] {line}" for line in axe_violations(page)]

    def assert_clean(self) -> None:
        assert not self.problems, "accessibility problems:\n" + "\n".join(self.problems)


def staff_sign_in(page, app, base: str, account: tuple[str, str, str], axe: Axe | None = None) -> None:
    """Password, then the 6-digit code of the authenticator app, through the office's sign-in pages."""
    from tests.support.staff import next_code

    email, password, secret = account
    page.goto(base + "/office/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("職員のサインイン")
    if axe:
        axe.check(page, "staff sign-in")
        page.get_by_role("button", name="次へ進む").click()
        assert page.title().startswith("エラー")
        axe.check(page, "staff sign-in with errors")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="次へ進む").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("確認コードの入力")
    if axe:
        axe.check(page, "staff code")
    with app.app_context():
        code = next_code(email, secret)  # the earliest step the server still takes
    page.get_by_label("確認コード（6桁）").fill(code)
    page.get_by_role("button", name="サインインする").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("審査の一覧")


def open_case(page, receipt: str) -> None:
    """From the queue: search by the receipt number, then open the case."""
    page.get_by_label("受付番号・申請者名").fill(receipt)
    page.get_by_role("button", name="絞り込む").click()
    page.get_by_role("table").get_by_role("link", name=receipt).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(receipt)


def approve(page, app, account: tuple[str, str, str]) -> None:
    """「承認して押印する」. If the page asks for the 6-digit code (the sign-in's second factor is no
    longer fresh), the code of a later step than the sign-in's is typed, as the app would show it."""
    from tests.support.staff import next_code

    code_field = page.get_by_label("確認コード（認証アプリの6桁）")
    if code_field.count():
        with app.app_context():
            code_field.fill(next_code(account[0], account[2]))
    page.get_by_role("button", name="承認して押印する").click()
    expect(page.get_by_role("main")).to_contain_text("承認しました")


def test_clerk_returns_resident_resubmits_and_both_approve(catalogue, new_resident, new_page, monkeypatch):
    app, base = catalogue.app, catalogue.url
    # The sign-in's second factor stays fresh for the whole test, so 押印 asks for no code again
    # (and a code of a later TOTP step is not needed, nor a wait for one).
    monkeypatch.setitem(app.config, "SEAL_FRESH_MINUTES", 60)
    email = new_resident("kaori")
    submission_id, receipt, staff = prepare(app, email)
    run_worker(app)  # render the document, put the case on its route
    assert state_of(app, submission_id) == "in_review"
    axe = Axe()

    # The clerk signs in, finds the case by its receipt number and returns it with a message.
    clerk = new_page(viewport=DESKTOP)
    enable_axe(clerk.context)
    staff_sign_in(clerk, app, base, staff["clerk"], axe)
    axe.check(clerk, "queue")
    open_case(clerk, receipt)
    axe.check(clerk, "case")
    clerk.get_by_text("差し戻す（補正をお願いする）").click()
    message_box = clerk.get_by_label(re.compile("^申請者へのお知らせ"))
    expect(message_box).to_be_visible()
    axe.check(clerk, "case, return form open")
    message_box.fill(MESSAGE)
    clerk.get_by_role("button", name="差し戻す", exact=True).click()
    expect(clerk.locator(".status")).to_have_text("差し戻し")
    assert state_of(app, submission_id) == "returned"

    # The resident reads the message, fixes one answer and resubmits.
    resident = new_page(viewport=PHONE, has_touch=True)
    sign_in(resident, base, email)
    resident.goto(f"{base}/submissions")
    resident.get_by_role("link", name=receipt, exact=True).click()  # わたしの申請
    expect(resident.get_by_role("heading", level=1)).to_have_text("審査状況")
    expect(resident.locator("#current-state")).to_have_text("差し戻し")
    notice = resident.get_by_role("alert")
    expect(notice).to_contain_text(MESSAGE)
    notice.get_by_role("link", name="内容を直して再提出する").click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("入力内容の確認")
    expect(resident.get_by_role("main")).to_contain_text(MESSAGE)
    resident.get_by_role("link", name=re.compile(r"変更する\s*（使いみち）")).click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("使いみち")
    resident.get_by_label("住民票の使いみち").select_option(label="年金の手続き")
    resident.get_by_label("提出先").fill("日本年金機構")
    resident.get_by_role("button", name="次へ進む").click()  # back to the 確認画面
    expect(resident.get_by_role("heading", level=1)).to_have_text("入力内容の確認")
    expect(resident.get_by_role("main")).to_contain_text("日本年金機構")
    resident.get_by_role("checkbox").check()
    resident.get_by_role("button", name="再提出する").click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("審査状況")
    expect(resident.get_by_role("main")).to_contain_text(receipt)

    run_worker(app)  # back into review, at the first step of the route
    assert state_of(app, submission_id) == "in_review"

    # The clerk approves (受付), the worker seals it; the approver approves (決裁), the worker seals it
    # and applies the organisation seal.
    clerk.reload()
    expect(clerk.locator(".status")).to_have_text(re.compile("審査中"))
    approve(clerk, app, staff["clerk"])
    run_worker(app)
    approver = new_page(viewport=DESKTOP)
    staff_sign_in(approver, app, base, staff["approver"])
    open_case(approver, receipt)
    approve(approver, app, staff["approver"])
    run_worker(app)
    assert state_of(app, submission_id) == "approved"

    # The resident reloads the status page: 承認済み, what to do now, and the notice of the result to
    # download (never the internal 決裁文書).
    resident.reload()
    expect(resident.locator("#current-state")).to_have_text("承認済み")
    expect(resident.get_by_role("heading", name="次にすること")).to_be_visible()
    download = resident.get_by_role("link", name="「審査結果のお知らせ」（PDF）をダウンロード")
    expect(download).to_be_visible()
    expect(resident.get_by_role("link", name=re.compile("決裁"))).to_have_count(0)
    response = resident.request.get(base + download.get_attribute("href"))
    assert response.status == 200 and response.body().startswith(b"%PDF")
    axe.check(resident, "status, approved")

    # Whoever holds the sealed paper checks it by its code: the page shows what it must say.
    code = verification_code(app, submission_id)
    resident.goto(f"{base}/verify/{code}")
    expect(resident.get_by_role("heading", level=1)).to_have_text("本物の書類です")
    expect(resident.get_by_role("main")).to_contain_text("お手元の書類と、この画面の内容が同じであることを確かめてください")
    expect(resident.get_by_role("main")).to_contain_text("日本年金機構")
    axe.check(resident, "verify, with the document's contents")

    axe.assert_clean()
