"""Configuration from the environment: fail closed (H2), secrets split by process role (H4), strong
secrets (L5), development secrets, the production cookie and headers (M3), shared rate limits and
proxies (M7), mail over TLS (M10)."""

from __future__ import annotations

import secrets
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app import create_app
from app.config import ALL_SECRETS, SECRETS_BY_ROLE, ConfigurationError, load_config


def strong(name: str) -> str:
    if name == "MADOGUCHI_AUDIT_KEY":
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return secrets.token_urlsafe(32)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No configuration in the environment but an instance folder and a throw-away SQLite URL."""
    for name in (*ALL_SECRETS, "MADOGUCHI_ENV", "MADOGUCHI_PROCESS", "DATABASE_URL", "FLASK_RUN_FROM_CLI",
                 "MADOGUCHI_RATELIMIT_STORAGE", "SMTP_URL", "MADOGUCHI_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MADOGUCHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    return tmp_path / "instance"


def give(monkeypatch, names) -> dict[str, str]:
    values = {name: strong(name) for name in names}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


# ---- H2: unset means production ---------------------------------------------------------------------


def test_h2_an_unset_environment_is_production_and_refuses_to_start_naming_its_secrets(clean_env):
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    message = str(refused.value)
    assert "MADOGUCHI_ENV is unset" in message
    assert "SECRET_KEY" in message and "MADOGUCHI_FIELD_KEY" in message
    assert "MADOGUCHI_ENV=development" in message  # says how a local checkout runs
    assert not (clean_env / "secrets").exists(), "production must not generate secrets"


def test_h2_production_has_no_dev_tools(clean_env, monkeypatch):
    give(monkeypatch, SECRETS_BY_ROLE["web"])
    app = create_app()
    assert app.config["MADOGUCHI_ENV"] == "production"
    assert not any(rule.rule.startswith("/dev") for rule in app.url_map.iter_rules())
    assert app.test_client().get("/dev/mail/").status_code == 404


@pytest.mark.parametrize("role", SECRETS_BY_ROLE)
@pytest.mark.parametrize("missing", ALL_SECRETS)
def test_production_refuses_to_start_without_a_secret_its_role_needs(clean_env, monkeypatch, role, missing):
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    monkeypatch.setenv("MADOGUCHI_PROCESS", role)
    give(monkeypatch, [name for name in SECRETS_BY_ROLE[role] if name != missing])
    if missing not in SECRETS_BY_ROLE[role]:
        create_app()  # a secret its role does not use is not asked for
        return
    with pytest.raises(ConfigurationError, match=missing):
        create_app()


# ---- H4: web processes hold no seal or audit key ----------------------------------------------------


def test_h4_a_web_process_never_reads_the_key_passphrase_or_the_audit_key(clean_env, monkeypatch):
    """Even when a deployment wrongly hands them over, a web process does not read them."""
    values = give(monkeypatch, ALL_SECRETS)
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    app = create_app()  # gunicorn: not the flask command, so a web process
    assert app.config["MADOGUCHI_PROCESS"] == "web"
    assert app.config["SECRET_KEY"] == values["SECRET_KEY"]
    assert app.config["MADOGUCHI_KEY_PASSPHRASE"] is None
    assert app.config["MADOGUCHI_AUDIT_KEY"] is None
    assert values["MADOGUCHI_KEY_PASSPHRASE"] not in repr(app.config)
    assert values["MADOGUCHI_AUDIT_KEY"] not in repr(app.config)


def test_h4_roles_the_flask_command_and_the_worker(clean_env, monkeypatch):
    values = give(monkeypatch, ALL_SECRETS)
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # what the flask command sets before making the app
    cli = create_app()
    assert cli.config["MADOGUCHI_PROCESS"] == "cli"
    assert cli.config["MADOGUCHI_AUDIT_KEY"] == values["MADOGUCHI_AUDIT_KEY"]
    monkeypatch.setenv("MADOGUCHI_PROCESS", "worker")
    worker = create_app()
    assert worker.config["MADOGUCHI_KEY_PASSPHRASE"] == values["MADOGUCHI_KEY_PASSPHRASE"]
    assert worker.config["MADOGUCHI_AUDIT_KEY"] is None
    monkeypatch.setenv("MADOGUCHI_PROCESS", "server")
    with pytest.raises(ConfigurationError, match="MADOGUCHI_PROCESS"):
        create_app()


def test_production_starts_with_its_secrets(clean_env, monkeypatch):
    values = give(monkeypatch, SECRETS_BY_ROLE["web"])
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    app = create_app()
    assert app.config["MADOGUCHI_ENV"] == "production"
    assert app.config["SECRET_KEY"] == values["SECRET_KEY"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "dev_mail" not in app.blueprints


# ---- L5: production refuses weak secrets ---------------------------------------------------------------


@pytest.mark.parametrize("name,value", [("SECRET_KEY", "x"), ("MADOGUCHI_FIELD_KEY", "z"),
                                        ("SECRET_KEY", "a" * 40), ("MADOGUCHI_AUDIT_KEY", "not a key")])
def test_l5_production_refuses_weak_secrets(clean_env, monkeypatch, name, value):
    give(monkeypatch, ALL_SECRETS)
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    monkeypatch.setenv("MADOGUCHI_PROCESS", "cli")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        create_app()


def test_unknown_environment_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_ENV", "staging")
    with pytest.raises(ConfigurationError):
        create_app()


def test_development_generates_the_secrets_its_role_needs_into_the_instance_folder(clean_env, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_ENV", "development")
    monkeypatch.setenv("MADOGUCHI_PROCESS", "cli")
    app = create_app()
    assert app.config["MADOGUCHI_ENV"] == "development"
    assert app.instance_path == str(clean_env.resolve())
    secrets_dir = clean_env / "secrets"
    for name in ALL_SECRETS:
        path = secrets_dir / name.lower()
        assert path.is_file(), f"{name} was not written to {path}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is readable by others"
        value = path.read_text().strip()
        assert len(value) >= 32
        assert app.config[name] == value
    assert stat.S_IMODE(secrets_dir.stat().st_mode) & 0o077 == 0

    again = create_app()
    for name in ALL_SECRETS:
        assert again.config[name] == app.config[name], "a second start must reuse the generated secrets"
    monkeypatch.setenv("MADOGUCHI_PROCESS", "web")
    web = create_app()
    assert web.config["MADOGUCHI_KEY_PASSPHRASE"] is None and web.config["MADOGUCHI_AUDIT_KEY"] is None


def test_environment_secrets_win_over_generated_ones(clean_env, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_ENV", "development")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (clean_env / "secrets" / "secret_key").exists()


# ---- M3, M7, M10 in the configuration -------------------------------------------------------------------


def test_m3_production_cookie_is_host_prefixed_secure_session_only_and_hsts_is_sent(clean_env, monkeypatch):
    give(monkeypatch, SECRETS_BY_ROLE["web"])
    app = create_app()
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-madoguchi_session"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_PERMANENT"] is False
    response = app.test_client().get("/healthz", base_url="https://madoguchi.example.lg.jp")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_m7_production_refuses_per_process_rate_limits(clean_env, monkeypatch):
    give(monkeypatch, SECRETS_BY_ROLE["web"])
    app = create_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"  # the default: the app's own database
    monkeypatch.setenv("MADOGUCHI_RATELIMIT_STORAGE", "memory://")
    with pytest.raises(ConfigurationError, match="memory://"):
        create_app()


@pytest.mark.parametrize("url,ok", [
    ("smtp://mail.example.lg.jp:25", False),
    ("smtp://mail.example.lg.jp:587?starttls=required", True),
    ("smtps://mail.example.lg.jp:465", True),
    ("smtp://127.0.0.1:25", True),  # a relay on this host
])
def test_m10_production_sends_mail_only_over_tls(clean_env, monkeypatch, url, ok):
    give(monkeypatch, SECRETS_BY_ROLE["web"])
    monkeypatch.setenv("SMTP_URL", url)
    if ok:
        assert load_config()["SMTP_URL"] == url
    else:
        with pytest.raises(ConfigurationError, match="TLS"):
            load_config()


def test_m3_production_sets_the_host_prefixed_secure_session_cookie(clean_env, monkeypatch):
    give(monkeypatch, SECRETS_BY_ROLE["web"])
    app = create_app()
    response = app.test_client().get("/account/sign-in", base_url="https://madoguchi.example.lg.jp")
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if "madoguchi_session" in v)
    assert cookie.startswith("__Host-madoguchi_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "Domain=" not in cookie and "Expires=" not in cookie
