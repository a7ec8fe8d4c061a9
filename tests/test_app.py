"""create_app: health, configuration from the environment, development secrets, error responses."""

from __future__ import annotations

import stat

import pytest

from app import create_app
from app.config import REQUIRED_SECRETS, ConfigurationError


def test_healthz_reports_database_and_migration_head(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migration"]["head"]
    assert body["migration"]["current"] == body["migration"]["head"]
    assert body["migration"]["state"] == "current"


@pytest.mark.parametrize(("revision", "state", "status"), [("9999", "ahead", 200), ("0001", "behind", 503)])
def test_healthz_serves_while_a_newer_release_migrated(client, db, revision, state, status):
    """Rolling upgrades run the migrations first: the nodes still on the older code stay in service."""
    import sqlalchemy as sa

    head = client.get("/healthz").get_json()["migration"]["head"]
    with db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    try:
        response = client.get("/healthz")
        assert response.status_code == status
        assert response.get_json()["migration"] == {"current": revision, "head": head, "state": state}
    finally:
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No configuration in the environment but an instance folder and a throw-away SQLite URL."""
    for name in (*REQUIRED_SECRETS, "MADOGUCHI_ENV", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MADOGUCHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    return tmp_path / "instance"


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_production_refuses_to_start_without_a_secret(clean_env, monkeypatch, missing):
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    for name in REQUIRED_SECRETS:
        if name != missing:
            monkeypatch.setenv(name, f"value-of-{name.lower()}")
    with pytest.raises(ConfigurationError, match=missing):
        create_app()
    assert not (clean_env / "secrets").exists(), "production must not generate secrets"


def test_production_starts_with_its_secrets(clean_env, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_ENV", "production")
    for name in REQUIRED_SECRETS:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    app = create_app()
    assert app.config["MADOGUCHI_ENV"] == "production"
    assert app.config["SECRET_KEY"] == "value-of-secret_key"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "dev_mail" not in app.blueprints


def test_unknown_environment_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_ENV", "staging")
    with pytest.raises(ConfigurationError):
        create_app()


def test_development_generates_secrets_into_the_instance_folder(clean_env):
    app = create_app()
    assert app.config["MADOGUCHI_ENV"] == "development"
    assert app.instance_path == str(clean_env.resolve())
    secrets_dir = clean_env / "secrets"
    for name in REQUIRED_SECRETS:
        path = secrets_dir / name.lower()
        assert path.is_file(), f"{name} was not written to {path}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is readable by others"
        value = path.read_text().strip()
        assert len(value) >= 32
        assert app.config[name] == value
    assert stat.S_IMODE(secrets_dir.stat().st_mode) & 0o077 == 0

    again = create_app()
    for name in REQUIRED_SECRETS:
        assert again.config[name] == app.config[name], "a second start must reuse the generated secrets"


def test_environment_secrets_win_over_generated_ones(clean_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (clean_env / "secrets" / "secret_key").exists()


def test_api_errors_are_json_with_a_code(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]


def test_api_index(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    assert response.get_json()["service"] == "madoguchi"


def test_page_errors_are_html(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "<main" in page
    assert "404" in page


def test_security_headers(client):
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_web_process_never_loads_the_renderer(tmp_path):
    """WeasyPrint is the worker's (rendering) and the CLI's: a web process that imported it would carry
    its memory in every gunicorn worker. The lazy imports that keep it out are each commented."""
    import subprocess
    import sys

    script = (
        "import sys\nfrom app import create_app\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'MADOGUCHI_ENV': 'development'}})\n"
        "client = app.test_client()\nclient.get('/'); client.get('/verify')\n"
        "print(sorted(m for m in ('weasyprint', 'pydyf') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
