"""A gateway that is down: retries, then dead on the dashboard; back up, 「再送する」 delivers it. Access,
the audit trail, the administrator's destinations page, and the catalogue's destinations."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.catalogue.service import built_in_catalogue_dir, sync_catalogue
from app.cli import catalogue_references
from app.delivery.models import Destination
from app.errors import ValidationFailed
from tests.support.delivery import by_code, deliveries, point_webhook
from tests.support.http import csrf_token, free_port
from tests.support.staff import make_staff, sign_in_staff


def test_a_gateway_that_is_down_ends_dead_then_a_retry_delivers(app, db, approved, smtp_server, webhook, client,
                                                                 run_worker, fast_backoff):
    point_webhook(db, webhook.url)
    up = app.config["SMTP_URL"]
    # Set directly, not with monkeypatch: its undo would run after smtp_server's and leave a stale URL.
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    for _ in range(6):
        run_worker()
    fax = by_code(db, approved, "homukyoku")
    assert (fax.state, fax.attempts) == ("dead", 6)
    assert "Connection refused" in fax.last_error or "ConnectionRefused" in fax.last_error
    assert by_code(db, approved, "suido").state == "sent"
    assert run_worker() == 0  # dead rows are never picked up again on their own
    assert smtp_server.messages == []

    clerk, password, secret = make_staff(db, "haiso@city.example.jp", "shimin", ["clerk"])
    sign_in_staff(client, clerk.email, password, secret)
    page = client.get("/office/deliveries/?state=dead")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="delivery-{fax.id}" data-state="dead"' in html and "再送する" in html
    assert "架空地方法務局 本局" in html and "6 / 6" in html

    app.config["SMTP_URL"] = up  # the gateway is back
    response = client.post(f"/office/deliveries/{fax.id}/retry", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert by_code(db, approved, "homukyoku").state == "pending"
    mail = by_code(db, approved, "kaigo-hikari")
    assert mail.state == "dead"
    client.post(f"/office/deliveries/{mail.id}/retry", data={"csrf_token": csrf_token(page)})
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "delivery.retry")
                                .order_by(AuditEvent.seq)).all()
    assert [(e.actor_id, e.subject_id) for e in events] == [(clerk.id, fax.id), (clerk.id, mail.id)]

    run_worker()
    assert {d.state for d in deliveries(db, approved)} == {"sent"}
    messages = smtp_server.wait_for(2)
    fax_mail = next(m for m in messages if m["To"].endswith("@fax.example.lg.jp"))
    assert fax_mail["Subject"].startswith("【再送（第7回）】")


def test_retry_needs_csrf_and_the_right_office(app, db, approved, client, run_worker):
    row = by_code(db, approved, "homukyoku")
    row.state = "dead"
    db.session.commit()
    outsider, password, secret = make_staff(db, "zei2@city.example.jp", "zeimu", ["clerk"])
    sign_in_staff(client, outsider.email, password, secret)
    page = client.get("/office/deliveries/")
    assert f"delivery-{row.id}" not in page.get_data(as_text=True)
    assert client.post(f"/office/deliveries/{row.id}/retry").status_code == 400  # no CSRF token
    assert client.post(f"/office/deliveries/{row.id}/retry", data={"csrf_token": csrf_token(page)}).status_code == 404
    assert by_code(db, approved, "homukyoku").state == "dead"


def test_admins_see_every_office_and_manage_destinations(app, db, approved, client):
    admin, password, secret = make_staff(db, "kanri@city.example.jp", "zeimu", ["admin"])
    sign_in_staff(client, admin.email, password, secret)
    assert "架空地方法務局 本局" in client.get("/office/deliveries/").get_data(as_text=True)

    page = client.get("/office/admin/destinations/")
    assert page.status_code == 200 and "上下水道課" in page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "code": "kaigo-midori", "name_ja": "みどり介護センター",
            "name_en": "Midori Care Centre", "channel": "email", "email": "", "is_active": "y"}
    refused = client.post("/office/admin/destinations/", data=data)
    assert refused.status_code == 422 and "この送付方法では" in refused.get_data(as_text=True)
    assert client.post("/office/admin/destinations/", data={**data, "email": "midori@example.jp"}).status_code == 302
    created = db.session.scalar(sa.select(Destination).where(Destination.code == "kaigo-midori"))
    # Registered, but used only once a second administrator confirms it (L11).
    assert (created.channel, created.email, created.is_active) == ("email", "midori@example.jp", False)
    assert created.pending_change == {"is_active": True}
    confirm_page = client.get("/office/admin/destinations/")
    own = client.post(f"/office/admin/destinations/{created.id}/confirm", data={"csrf_token": csrf_token(confirm_page)})
    assert own.status_code == 302
    db.session.expire_all()
    assert not created.is_active  # the one who asked cannot confirm
    second, second_password, second_secret = make_staff(db, "kanri2@city.example.jp", "shimin", ["admin"])
    other = app.test_client()
    sign_in_staff(other, second.email, second_password, second_secret)
    listing = other.get("/office/admin/destinations/")
    assert "確認待ちの変更（1件）" in listing.get_data(as_text=True)
    assert other.post(f"/office/admin/destinations/{created.id}/confirm",
                      data={"csrf_token": csrf_token(listing)}).status_code == 302
    db.session.expire_all()
    assert created.is_active and created.pending_change is None

    # A new address waits for the second administrator too; a deactivation does not.
    edit = client.get(f"/office/admin/destinations/{created.id}")
    response = client.post(f"/office/admin/destinations/{created.id}", data={
        **data, "csrf_token": csrf_token(edit), "code": "renamed", "email": "someone-else@example.jp", "is_active": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert (created.code, created.is_active, created.email) == ("kaigo-midori", False, "midori@example.jp")
    assert created.pending_change == {"email": "someone-else@example.jp"}
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.subject_type == "destination")))
    assert actions == {"destination.create", "destination.update", "destination.change_request",
                       "destination.change_confirm"}


def test_l11_production_takes_only_outside_https_webhooks(app, db, client, catalogue, monkeypatch):
    admin, password, secret = make_staff(db, "kanri@city.example.jp", "zeimu", ["admin"])
    sign_in_staff(client, admin.email, password, secret)
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    page = client.get("/office/admin/destinations/")
    for url in ("http://receiver.example.lg.jp/in", "https://127.0.0.1/in", "https://169.254.169.254/latest",
                "https://localhost:5000/dev/webhook"):
        refused = client.post("/office/admin/destinations/", data={
            "csrf_token": csrf_token(page), "code": "sys", "name_ja": "連携", "name_en": "System",
            "channel": "webhook", "webhook_url": url, "is_active": "y"})
        assert refused.status_code == 422, url


def test_the_destinations_page_is_for_admins_only(app, db, client):
    clerk, password, secret = make_staff(db, "hira@city.example.jp", "shimin", ["clerk", "approver"])
    sign_in_staff(client, clerk.email, password, secret)
    assert client.get("/office/admin/destinations/").status_code == 403


def test_catalogue_sync_loads_destinations_before_forms(db, tmp_path):
    report = sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    assert sorted(report.added["destinations"]) == ["homukyoku", "kaigo-hikari", "suido", "zeimusho"]
    assert {"juminhyo@4", "tenkyo@4", "inkan-shomei@4"} <= set(report.forms_added)
    db.session.commit()

    folder = tmp_path / "catalogue"
    shutil.copytree(built_in_catalogue_dir(), folder)
    text = (folder / "inkan.v3.yaml").read_text(encoding="utf-8")
    (folder / "inkan.v3.yaml").unlink()
    (folder / "inkan.v5.yaml").write_text(text.replace("version: 3", "version: 5").replace(
        "destinations: [homukyoku]", "destinations: [homukyoku, kokuzeikyoku]"), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        sync_catalogue([folder], catalogue_references())
    assert caught.value.errors["problems"] == [
        f"{folder / 'inkan.v5.yaml'}: destinations[1]: unknown destination 'kokuzeikyoku' "
        "(known destinations: homukyoku, kaigo-hikari, suido, zeimusho)"]

    destinations_file = folder / "destinations.yaml"
    destinations_file.write_text(destinations_file.read_text(encoding="utf-8")
                                 + "- {code: bad, name: {ja: 不備, en: Bad}, channel: email}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        sync_catalogue([folder], catalogue_references())
    assert caught.value.errors["problems"] == [
        f"{destinations_file}: destinations[4].email: the channel 'email' needs 'email'"]


def test_the_case_page_section_renders(app, db, approved, smtp_server, webhook, run_worker):
    from flask import render_template_string

    from app.delivery.service import deliveries_for

    point_webhook(db, webhook.url)
    run_worker()
    with app.test_request_context("/office/"):
        html = render_template_string('{% include "office/_deliveries.html" %}', deliveries=deliveries_for(approved.id))
    assert html.count('data-state="sent"') == 3 and "上下水道課" in html and "03-0000-1111" not in html
