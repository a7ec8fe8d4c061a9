"""Delivery configuration: the development webhook secret, fault injection refused in production, and
nothing a second node would miss kept in one node's instance folder in production (the spool folder is
named, the development mail folder refused)."""

from __future__ import annotations

import pytest

from app.config import ConfigurationError, load_config
from app.delivery.models import Destination
from app.jobs import mail
from tests.support.delivery import deliveries, queue_to

PRODUCTION = {"MADOGUCHI_ENV": "production", "MADOGUCHI_PROCESS": "worker",
              "SECRET_KEY": "a-session-key-of-more-than-thirty-two-characters",
              "MADOGUCHI_KEY_PASSPHRASE": "a-key-passphrase-of-more-than-thirty-two-characters",
              "MADOGUCHI_FIELD_KEY": "a-field-key-of-more-than-thirty-two-characters"}


def test_development_generates_the_webhook_secret_into_the_instance_folder(tmp_path):
    config = load_config({"INSTANCE_PATH": str(tmp_path), "MADOGUCHI_ENV": "development"})
    secret_file = tmp_path / "secrets" / "madoguchi_webhook_secret"
    assert config["MADOGUCHI_WEBHOOK_SECRET"] == secret_file.read_text().strip()
    assert config["MADOGUCHI_WEBHOOK_SECRET"].startswith("whsec_")  # the Standard Webhooks form
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert config["MADOGUCHI_SPOOL_PATH"] == str(tmp_path / "spool")
    again = load_config({"INSTANCE_PATH": str(tmp_path), "MADOGUCHI_ENV": "development"})
    assert again["MADOGUCHI_WEBHOOK_SECRET"] == config["MADOGUCHI_WEBHOOK_SECRET"]


def test_production_generates_nothing_and_refuses_fault_injection(tmp_path):
    config = load_config({"INSTANCE_PATH": str(tmp_path), **PRODUCTION})
    assert config["MADOGUCHI_WEBHOOK_SECRET"] is None and not (tmp_path / "secrets").exists()
    with pytest.raises(ConfigurationError, match="tests only"):
        load_config({"INSTANCE_PATH": str(tmp_path), **PRODUCTION, "MADOGUCHI_FAULT_INJECTION": "after_send"})
    with pytest.raises(ConfigurationError, match="after_claim"):
        load_config({"INSTANCE_PATH": str(tmp_path), "MADOGUCHI_ENV": "development",
                     "MADOGUCHI_FAULT_INJECTION": "sometimes"})


def test_production_names_its_spool_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MADOGUCHI_SPOOL_PATH", raising=False)
    assert load_config({"INSTANCE_PATH": str(tmp_path), **PRODUCTION})["MADOGUCHI_SPOOL_PATH"] is None
    monkeypatch.setenv("MADOGUCHI_SPOOL_PATH", "/var/spool/hylafax/madoguchi")
    assert load_config({"INSTANCE_PATH": str(tmp_path), **PRODUCTION})["MADOGUCHI_SPOOL_PATH"] == \
        "/var/spool/hylafax/madoguchi"


def test_a_spool_delivery_without_a_named_folder_goes_dead_visibly(app, db, approved, monkeypatch, run_worker):
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    monkeypatch.setitem(app.config, "MADOGUCHI_SPOOL_PATH", None)
    destination = Destination(code="fax-server", name_ja="FAXサーバ", name_en="Fax server", channel="fax_spool",
                              fax_number="03-0000-9999")
    db.session.add(destination)
    delivery_id = queue_to(db, approved, destination).id
    db.session.commit()
    run_worker()
    [row] = [row for row in deliveries(db, approved) if row.id == delivery_id]
    assert row.state == "dead" and "MADOGUCHI_SPOOL_PATH is not configured" in row.last_error


def test_production_refuses_the_development_mail_folder(app, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    with app.test_request_context():
        message = mail.build_message({"to": "a@example.jp", "subject": "s", "body": "b\n",
                                      "message_id": mail.stable_message_id("test:production-mail")}, "x@example.jp")
        before = set(mail.mail_folder().glob("*.eml")) if mail.mail_folder().exists() else set()
        with pytest.raises(mail.PermanentFailure, match="SMTP_URL"):
            mail.transport(message)
        after = set(mail.mail_folder().glob("*.eml")) if mail.mail_folder().exists() else set()
    assert after == before
