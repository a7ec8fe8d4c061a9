"""Each channel end to end: a real SMTP server and an HTTP receiver on loopback, the spool folder."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from app.delivery import outbox
from app.delivery.channels import spool
from app.delivery.models import Destination
from app.documents import service as documents
from app.jobs import mail
from app.workflow.sealing import delivery_order
from tests.support.delivery import WebhookReceiver, attachment, by_code, deliveries, point_webhook, queue_to

COMPRESSION, BITS, WIDTH, PHOTOMETRIC = 259, 258, 256, 262


def tiff_pages(data: bytes) -> list[dict]:
    image = Image.open(io.BytesIO(data))
    pages = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        tags = image.tag_v2
        pages.append({"compression": tags[COMPRESSION], "bits": tags[BITS], "width": tags[WIDTH],
                      "photometric": tags[PHOTOMETRIC]})
    return pages


def test_write_deliveries_writes_one_row_per_destination_once(app, db, approved):
    rows = deliveries(db, approved)
    assert sorted((d.destination.code, d.channel) for d in rows) == [
        ("homukyoku", "fax_email"), ("kaigo-hikari", "email"), ("suido", "webhook")]
    document = documents.current_document(approved.id)
    for row in rows:
        assert row.state == "pending" and row.attempts == 0 and row.max_attempts == 6
        assert row.idempotency_key == f"delivery:{approved.id}:{document.id}:{row.destination.code}"
        assert row.document_sha256 == document.latest.sha256 and document.latest.reason == "org-seal"
    assert (by_code(db, approved, "suido").message_id is None) and by_code(db, approved, "homukyoku").message_id
    again = outbox.write_deliveries(delivery_order(approved, document))
    assert sorted(d.id for d in again) == sorted(d.id for d in rows)


def test_without_a_gateway_development_spools_faxes(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_FAX_GATEWAY", None)
    fax = Destination(code="x", name_ja="x", name_en="x", fax_number="03-0000-0000", channel="fax_email")
    assert outbox.effective_channel(fax) == "fax_spool"
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    assert outbox.effective_channel(fax) == "fax_email"  # production: dead and visible, never rerouted


def test_fax_email_and_email_and_webhook_deliver_the_sealed_document(app, db, approved, smtp_server, webhook,
                                                                     run_worker):
    point_webhook(db, webhook.url)
    sealed = documents.read_bytes(documents.current_document(approved.id).latest.sha256)
    assert run_worker() == 3
    rows = {d.destination.code: d for d in deliveries(db, approved)}
    assert {code: row.state for code, row in rows.items()} == {
        "homukyoku": "sent", "kaigo-hikari": "sent", "suido": "sent"}
    assert all(row.sent_at and row.attempts == 1 and row.last_error is None for row in rows.values())

    messages = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert set(messages) == {"0300001111@fax.example.lg.jp", "kaigo-hikari@example.jp"}

    fax = messages["0300001111@fax.example.lg.jp"]
    assert fax["X-Madoguchi-Idempotency-Key"] == rows["homukyoku"].idempotency_key
    assert fax["Message-ID"] == rows["homukyoku"].message_id
    assert "再送" not in fax["Subject"] and approved.receipt_number in fax["Subject"]
    pages = tiff_pages(attachment(fax, "image/tiff"))
    assert len(pages) >= 2  # the cover sheet, then the document
    assert all(page == {"compression": 3, "bits": (1,), "width": 1728, "photometric": 0} for page in pages)

    mail = messages["kaigo-hikari@example.jp"]
    assert mail["X-Madoguchi-Idempotency-Key"] == rows["kaigo-hikari"].idempotency_key
    assert mail["Message-ID"] == rows["kaigo-hikari"].message_id
    assert attachment(mail, "application/pdf") == sealed  # byte for byte: the seal still validates

    [post] = webhook.received
    assert post["signature_ok"]
    assert post["headers"]["webhook-id"] == rows["suido"].idempotency_key
    body = post["body"]
    assert base64.b64decode(body["document_base64"]) == sealed
    assert body["document_sha256"] == rows["suido"].document_sha256
    assert (body["receipt_number"], body["form"], body["attempt"]) == (approved.receipt_number, "delivery-test", 1)
    assert body["verify_url"].endswith("/verify/" + body["verification_code"])


def test_the_spool_gets_a_g4_tiff_and_a_job_description(app, db, approved, tmp_path, monkeypatch, run_worker):
    monkeypatch.setitem(app.config, "MADOGUCHI_SPOOL_PATH", str(tmp_path / "spool"))
    destination = Destination(code="fax-server", name_ja="FAXサーバー経由", name_en="Via the fax server",
                              fax_number="03-0000-3333", channel="fax_spool")
    db.session.add(destination)
    delivery = queue_to(db, approved, destination)
    for row in deliveries(db, approved):
        if row.id != delivery.id:
            row.state = "sent"  # only the spooled one is of interest here
    db.session.commit()
    run_worker()
    delivery = by_code(db, approved, "fax-server")
    assert delivery.state == "sent"
    stem = spool.stem_for(delivery.idempotency_key)
    files = sorted(p.name for p in (tmp_path / "spool").iterdir())
    assert files == [f"{stem}.json", f"{stem}.tif"]  # no temporary file left behind
    job = json.loads((tmp_path / "spool" / f"{stem}.json").read_text())
    assert job["number"] == "0300003333" and job["attempt"] == 1 and job["resend"] is False
    assert job["idempotency_key"] == delivery.idempotency_key and job["receipt_number"] == approved.receipt_number
    tiff = (tmp_path / "spool" / f"{stem}.tif").read_bytes()
    assert all(page["compression"] == 4 and page["width"] == 1728 for page in tiff_pages(tiff))


@pytest.mark.parametrize(("status", "state"), [(422, "dead"), (503, "pending")])
def test_webhook_4xx_is_permanent_and_5xx_is_retried(app, db, approved, smtp_server, webhook, run_worker, status,
                                                     state):
    point_webhook(db, webhook.url)
    webhook.status = status
    run_worker()
    row = by_code(db, approved, "suido")
    assert (row.state, row.attempts) == (state, 1)
    assert f"HTTP {status}" in row.last_error


def test_m2_a_redirect_is_a_refusal_and_nothing_follows_it(app, db, approved, smtp_server, webhook, run_worker):
    """The review's reproduction: a 302 from the receiver made the delivery 'sent' with no document, and
    the signed headers reached the redirect's target."""
    elsewhere = WebhookReceiver(app.config["MADOGUCHI_WEBHOOK_SECRET"])
    try:
        point_webhook(db, webhook.url)
        webhook.status, webhook.location = 302, elsewhere.url
        run_worker()
        row = by_code(db, approved, "suido")
        assert row.state == "dead" and "redirect" in row.last_error  # not "sent"
        assert elsewhere.received == [] and elsewhere.gets == []
    finally:
        elsewhere.stop()


def test_m2_the_signature_covers_id_timestamp_and_body_and_a_replay_is_refused(app, db, approved, smtp_server,
                                                                                webhook, run_worker, client):
    import time

    from app.delivery.channels.webhook import WebhookVerificationError, verify

    point_webhook(db, webhook.url)
    run_worker()
    [post] = webhook.received
    headers, raw = post["headers"], post["raw"]
    assert set(headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    secret = app.config["MADOGUCHI_WEBHOOK_SECRET"]
    assert verify(headers, raw, secret) == headers["webhook-id"]
    later = str(int(headers["webhook-timestamp"]) + 1)
    for tampered in ({**headers, "webhook-id": "another"}, {**headers, "webhook-timestamp": later}):
        with pytest.raises(WebhookVerificationError):
            verify(tampered, raw, secret)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(headers, raw, secret, now=int(headers["webhook-timestamp"]) + 301)  # a stale replay
    # The development receiver does what a receiver must: a replayed id is taken once.
    dev = {key: value for key, value in headers.items() if key.startswith("webhook-")}
    first = client.post("/dev/webhook", data=raw, headers=dev, content_type="application/json")
    again = client.post("/dev/webhook", data=raw, headers=dev, content_type="application/json")
    assert first.status_code == 200 and "duplicate" not in first.get_json()
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    forged = client.post("/dev/webhook", data=raw.replace(b'"attempt":1', b'"attempt":9'), headers=dev,
                         content_type="application/json")
    assert forged.status_code == 401


def test_m2_production_sends_webhooks_only_over_https(app, db, approved, smtp_server, webhook, run_worker,
                                                      monkeypatch):
    point_webhook(db, webhook.url)  # http://127.0.0.1:…
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    run_worker()
    row = by_code(db, approved, "suido")
    assert row.state == "dead" and "https" in row.last_error
    assert webhook.received == []


def test_a_resend_carries_the_mark_and_the_same_identity(app, db, approved, smtp_server, webhook, run_worker,
                                                         monkeypatch):
    """Attempt 2 of a fax: the renderer is told (its cover reads 再送), the subject says 再送, same key and id."""
    from app.documents import fax_cover

    point_webhook(db, webhook.url)
    calls = []
    real = fax_cover.render_fax
    monkeypatch.setattr(fax_cover, "render_fax", lambda pdf, cover, **kw: calls.append(
        {"attempt": cover.attempt, **kw}) or real(pdf, cover, **kw))
    for row in deliveries(db, approved):
        row.attempts = 1  # as if the first attempt had been made and its fate were unknown
        row.state = "unknown"
    db.session.commit()
    run_worker()
    assert [call["attempt"] for call in calls] == [2] and calls[0]["compression"] == "g3"
    rows = {d.destination.code: d for d in deliveries(db, approved)}
    for message in smtp_server.wait_for(2):
        assert message["Subject"].startswith("【再送（第2回）】")
        assert message["X-Madoguchi-Attempt"] == "2"
        assert message["Message-ID"] in {rows["homukyoku"].message_id, rows["kaigo-hikari"].message_id}
    assert webhook.received[0]["body"]["attempt"] == 2


def test_the_resident_sees_where_it_went_by_office_name_only(app, db, approved, smtp_server, webhook, run_worker):
    from app.delivery.service import deliveries_for
    from app.submissions.receivers import receivers_of_case

    point_webhook(db, webhook.url)
    assert {r["status"] for r in receivers_of_case(approved, "ja")} == {"sending"}
    run_worker()
    db.session.expire_all()
    summary = receivers_of_case(approved, "ja")
    expected = ["架空地方法務局 本局", "ひかり居宅介護支援事業所", "上下水道課"]
    assert sorted(item["name"] for item in summary) == sorted(expected)
    assert all(item["status"] == "sent" and item["sent_at"] is not None for item in summary)
    assert "03-0000-1111" not in repr(summary) and "@" not in repr(summary) and "http" not in repr(summary)
    assert [d.state for d in deliveries_for(approved.id)] == ["sent"] * 3


def test_a_deactivated_destination_goes_dead_visibly(app, db, approved, smtp_server, webhook, run_worker,
                                                     tmp_path, monkeypatch):
    # A spool folder of its own: the session's is shared with earlier tests that spool faxes.
    monkeypatch.setitem(app.config, "MADOGUCHI_SPOOL_PATH", str(tmp_path / "spool"))
    point_webhook(db, webhook.url)
    by_code(db, approved, "homukyoku").destination.is_active = False
    db.session.commit()
    spool = Path(app.config["MADOGUCHI_SPOOL_PATH"])
    before = {path: path.stat().st_mtime_ns for path in spool.glob("*")} if spool.exists() else {}
    run_worker()
    row = by_code(db, approved, "homukyoku")
    assert row.state == "dead" and "deactivated" in row.last_error
    after = {path: path.stat().st_mtime_ns for path in spool.glob("*")} if spool.exists() else {}
    assert after == before  # nothing written to the fax server's spool (earlier tests' files are left alone)


def test_a_message_id_never_folds_whatever_the_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_BASE_URL", "https://madoguchi.city.shinagawa.tokyo.lg.jp")
    for key in ("delivery:1:1:x", "delivery:1795318304:2795318304:a-destination-code-of-sixty-characters-long"):
        with app.test_request_context():
            message_id = mail.stable_message_id(key)
        payload = {"to": "a@example.jp", "subject": "s", "body": "b\n", "message_id": message_id}
        wire = mail.build_message(payload, "noreply@example.jp").as_bytes()
        assert f"Message-ID: {message_id}".encode() in wire.splitlines()
        assert email.message_from_bytes(wire, policy=email.policy.default)["Message-ID"] == message_id
