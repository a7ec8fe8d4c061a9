"""Delivery configuration: the development webhook secret, and fault injection refused in production."""

from __future__ import annotations

import pytest

from app.config import ConfigurationError, load_config

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
