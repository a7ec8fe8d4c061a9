"""The delivery pages of the back office in real Chromium: a webhook destination whose URL has a typo
refuses an approved document (HTTP 404, a permanent failure: the delivery is dead at once), the other
two deliveries go out. An administrator signs in, finds the dead row on the dashboard (its state in
words, a 「再送する」 button), corrects the destination's URL on the destinations page (first emptied,
then not a URL: the error summary comes first in the focus order and names the field), a second
administrator confirms the change (four-eyes on where documents go, review L11), the first sends the
delivery again, and after the worker's pass it shows as sent, on the dashboard and on the case page.
The destination is left corrected: later tests on the live server send there too, and it answers.

The receiver is the live server's own /dev/webhook (development mode), so the cure is real: the worker
POSTs the sealed document there and the receiver keeps it. axe-core and our own checks (labels, 44 px
targets, heading order, reflow) run on every state of every page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_office_return_flow import Axe, prepare, run_worker, staff_sign_in
from tests.support.browser import DESKTOP, custom_problems, enable_axe

DESTINATION = "上下水道課"  # the webhook destination of the tests' delivery form
DEAD = "送付できませんでした"
SENT = "送付済み"


class Audit(Axe):
    """axe-core, and our checks that axe does not make (support.custom_problems), on each page checked."""

    def check(self, page, name: str) -> None:
        super().check(page, name)
        self.problems += [f"[{name}] {line}" for line in custom_problems(page)]


def approved_with_a_dead_delivery(app, resident_email: str, base: str) -> tuple[int, str, tuple[str, str, str]]:
    """The resident's filing of the tests' delivery form (with consent to its external receivers) approved
    and sealed by 市民課, its webhook destination pointing at a path the receiver does not have, and the
    worker's passes done; plus an administrator of 市民課.

    Returns (submission id, receipt number, the administrator's (email, password, totp secret)).
    """
    from app.accounts.models import Staff
    from app.catalogue.service import built_in_catalogue_dir, sync_catalogue
    from app.cli import catalogue_references
    from app.delivery.models import Destination
    from app.extensions import db
    from app.workflow import service as workflow
    from tests.support.catalogue import DELIVERY_CONSENTS, TEST_FORMS
    from tests.support.staff import make_staff

    with app.app_context():
        sync_catalogue([built_in_catalogue_dir(), TEST_FORMS], catalogue_references())
        db.session.commit()
    submission_id, receipt, staff = prepare(app, resident_email, "delivery-test", DELIVERY_CONSENTS)
    with app.app_context():
        suido = db.session.scalar(sa.select(Destination).where(Destination.code == "suido"))
        suido.webhook_url = f"{base}/dev/webhok"  # the typo: a 404, which no retry can cure
        _, password, secret = make_staff(db, f"admin-{receipt}@city.example.jp".lower(), "shimin", ["admin"])
        admin = (f"admin-{receipt}@city.example.jp".lower(), password, secret)
        db.session.commit()
    run_worker(app)  # render the document, put the case on its route
    for role in ("clerk", "approver"):
        with app.app_context():
            member = db.session.scalar(sa.select(Staff).where(Staff.email == staff[role][0]))
            workflow.approve(submission_id, member)
            db.session.commit()
        run_worker(app)  # the step's seal; after the last, the organisation seal and the deliveries
    return submission_id, receipt, admin


def a_second_administrator(app, receipt: str) -> tuple[str, str, str]:
    """Another administrator of 市民課, who confirms the first one's change of where documents go."""
    from app.extensions import db
    from tests.support.staff import make_staff

    email = f"admin2-{receipt}@city.example.jp".lower()
    with app.app_context():
        _, password, secret = make_staff(db, email, "shimin", ["admin"])
        db.session.commit()
    return email, password, secret


def delivery_states(app, submission_id: int) -> dict[str, tuple[str, int]]:
    """{destination code: (state, attempts)} of the submission's deliveries."""
    from app.delivery.models import Delivery, Destination
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sa.select(Destination.code, Delivery.state, Delivery.attempts)
            .join(Destination, Delivery.destination_id == Destination.id)
            .where(Delivery.submission_id == submission_id)
        ).all()
        return {code: (state, attempts) for code, state, attempts in rows}


def received_webhooks(app) -> dict[str, dict]:
    """What the development receiver (/dev/webhook) kept, by the file name it derives from the key."""
    folder = Path(app.config["INSTANCE_PATH"]) / "webhooks"
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in folder.glob("*.json")}


def test_admin_retries_a_dead_delivery_after_correcting_its_destination(catalogue, new_resident, new_page):
    app, base = catalogue.app, catalogue.url
    submission_id, receipt, admin = approved_with_a_dead_delivery(app, new_resident("miki"), base)
    states = delivery_states(app, submission_id)
    # One attempt: the 404 is permanent, the row does not wait through six backoffs.
    assert states == {"homukyoku": ("sent", 1), "kaigo-hikari": ("sent", 1), "suido": ("dead", 1)}
    # The button's name carries the row (visually hidden), so that a list of buttons tells them apart.
    retry_name = re.compile(rf"^再送する\s*：{receipt} {DESTINATION}$")
    audit = Audit()

    second_admin = a_second_administrator(app, receipt)

    page = new_page(viewport=DESKTOP)
    enable_axe(page.context)
    staff_sign_in(page, app, base, admin)

    # The dashboard: every delivery of the case, the dead one with its state in words and a retry button.
    page.get_by_role("navigation", name="職員メニュー").get_by_role("link", name="送付の状況").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("送付の状況")
    audit.check(page, "delivery dashboard")
    table = page.get_by_role("table", name=re.compile(r"^送付の一覧"))
    rows = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=receipt))
    expect(rows).to_have_count(3)
    dead = rows.filter(has_text=DESTINATION)
    expect(dead.get_by_role("cell", name=DEAD, exact=True)).to_be_visible()
    # The last error in words, for the person deciding whether to resend; the channel's own message behind
    # 「技術的な詳細」, English and marked so for screen readers.
    expect(dead).to_contain_text("相手先のシステムが受け取りを断りました")
    expect(dead.locator("details p")).to_have_attribute("lang", "en")
    expect(dead.locator("details p")).to_contain_text("HTTP 404")
    retry = dead.get_by_role("button", name=retry_name)
    expect(retry).to_be_visible()
    for sent in ("架空地方法務局 本局", "ひかり居宅介護支援事業所"):
        row = rows.filter(has_text=sent)
        expect(row.get_by_role("cell", name=SENT, exact=True)).to_be_visible()
        expect(row.get_by_role("button")).to_have_count(0)  # a sent delivery is not sent again from here
    page.get_by_role("navigation", name="状態で絞り込む").get_by_role("link", name=DEAD).click()
    expect(page.get_by_role("link", name=DEAD)).to_have_attribute("aria-current", "page")
    expect(rows).to_have_count(1)
    audit.check(page, "delivery dashboard, dead only")

    # The case, opened by its receipt number, says which delivery failed.
    rows.get_by_role("link", name=receipt).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(receipt)
    items = page.get_by_role("region", name="送付", exact=True).get_by_role("listitem")
    expect(items).to_have_count(3)
    expect(items.filter(has_text=DESTINATION)).to_contain_text(DEAD)
    expect(items.filter(has_text="架空地方法務局 本局")).to_contain_text(SENT)
    audit.check(page, "case with a dead delivery")

    # The destinations page: the list, then the edit form of 上下水道課.
    page.get_by_role("navigation", name="職員メニュー").get_by_role("link", name="送付先の管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("送付先の管理")
    audit.check(page, "destinations")
    destinations = page.get_by_role("table", name=re.compile(r"^送付先の一覧"))
    expect(destinations.get_by_role("row").filter(has_text=DESTINATION)).to_contain_text(f"{base}/dev/webhok")
    destinations.get_by_role("link", name=re.compile(rf"^編集する\s*：{DESTINATION}$")).click()
    # The link goes to the form, below the list, not to the top of the page.
    assert page.url.endswith("#edit")
    expect(page.get_by_role("heading", level=2, name=f"送付先を編集する：{DESTINATION}")).to_be_in_viewport()
    url_field = page.get_by_label(re.compile(r"^WebhookのURL"))
    expect(url_field).to_have_value(f"{base}/dev/webhok")
    audit.check(page, "destination edit form")

    # The URL emptied: refused, and the error summary, first in the focus order of the page's main content
    # (Tab to the skip link, Enter, Tab), says which field; its link takes the focus there.
    url_field.fill("")
    page.get_by_role("button", name="保存する").click()
    assert page.title().startswith("エラー")
    summary = page.get_by_role("alert").filter(has_text="入力内容に誤りがあります")
    expect(summary.get_by_role("heading")).to_have_text("入力内容に誤りがあります（1件）")
    expect(url_field).to_have_attribute("aria-invalid", "true")
    audit.check(page, "destination edit form with errors")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="本文へ移動")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    error_link = summary.get_by_role("link")
    expect(error_link).to_be_focused()
    expect(error_link).to_have_text("この送付方法では、WebhookのURLが必要です。")
    page.keyboard.press("Enter")
    expect(url_field).to_be_focused()
    assert "webhook_url-error" in url_field.get_attribute("aria-describedby").split()

    # A value that is not a URL: refused too, and what was typed is kept to be corrected.
    url_field.fill("dev/webhook")
    page.get_by_role("button", name="保存する").click()
    expect(summary.get_by_role("link")).to_have_text("http:// または https:// で始まるURLを入力してください。")
    expect(url_field).to_have_value("dev/webhook")
    expect(url_field).to_have_attribute("aria-invalid", "true")
    audit.check(page, "destination edit form with a malformed URL")

    url_field.fill(f"{base}/dev/webhook")
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("送付先の管理")
    # Where documents go changes only when a second administrator confirms it (review L11).
    expect(page.get_by_role("main")).to_contain_text(f"送付先「{DESTINATION}」の変更を受け付けました。")
    expect(page.get_by_role("main")).to_contain_text("ご自身が依頼した変更は、別の管理者が確認します。")
    expect(destinations.get_by_role("row").filter(has_text=DESTINATION)).to_contain_text(f"{base}/dev/webhok")
    audit.check(page, "destinations, change waiting")

    second = new_page(viewport=DESKTOP)
    enable_axe(second.context)
    staff_sign_in(second, app, base, second_admin)
    second.get_by_role("navigation", name="職員メニュー").get_by_role("link", name="送付先の管理").click()
    second.get_by_role("button", name=re.compile(rf"^確認して反映する\s*：{DESTINATION}$")).click()
    expect(second.get_by_role("main")).to_contain_text(f"送付先「{DESTINATION}」の変更を確認し、反映しました。")
    confirmed = second.get_by_role("table", name=re.compile(r"^送付先の一覧"))
    expect(confirmed.get_by_role("row").filter(has_text=DESTINATION)).to_contain_text(f"{base}/dev/webhook")
    audit.check(second, "destinations, confirmed by a second administrator")

    # Back on the dashboard: 再送する, confirmed on the page; the worker's pass delivers it.
    page.get_by_role("navigation", name="職員メニュー").get_by_role("link", name="送付の状況").click()
    page.get_by_role("button", name=retry_name).click()
    expect(page.get_by_role("main")).to_contain_text(f"「{DESTINATION}」への送付を再送します。")
    expect(rows.filter(has_text=DESTINATION).get_by_role("cell", name="送付待ち", exact=True)).to_be_visible()
    audit.check(page, "delivery dashboard, retry confirmed")
    assert delivery_states(app, submission_id)["suido"] == ("pending", 1)

    run_worker(app)
    assert delivery_states(app, submission_id)["suido"] == ("sent", 2)
    kept = [body for body in received_webhooks(app).values() if body["receipt_number"] == receipt]
    assert [body["attempt"] for body in kept] == [2]  # 再送: the second attempt is the one that arrived
    page.reload()
    dead_row = rows.filter(has_text=DESTINATION)
    expect(dead_row.get_by_role("cell", name=SENT, exact=True)).to_be_visible()
    expect(dead_row.get_by_role("button")).to_have_count(0)
    audit.check(page, "delivery dashboard, all sent")

    # Nothing of this case is left among the dead; its page says where each document went, and when.
    page.get_by_role("navigation", name="状態で絞り込む").get_by_role("link", name=DEAD).click()
    expect(rows).to_have_count(0)
    page.get_by_role("navigation", name="状態で絞り込む").get_by_role("link", name="すべて").click()
    rows.first.get_by_role("link", name=receipt).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(receipt)
    expect(items).to_have_count(3)
    for name in ("架空地方法務局 本局", "ひかり居宅介護支援事業所", DESTINATION):
        expect(items.filter(has_text=name)).to_contain_text(re.compile(rf"{SENT}（\d{{4}}/\d\d/\d\d \d\d:\d\d）"))
    expect(items.filter(has_text=DESTINATION)).to_contain_text("試行 2 回")
    audit.check(page, "case with deliveries")

    audit.assert_clean()
