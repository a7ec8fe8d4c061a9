"""create_app: health, error responses, what a web process loads (the configuration: test_config.py)."""

from __future__ import annotations

import pytest


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


def test_a_web_process_never_loads_the_renderer_or_the_pdf_validator(tmp_path):
    """WeasyPrint is the worker's (rendering) and the CLI's, pyHanko the worker's and the verification
    child's: a web process that imported them would carry their memory in every gunicorn worker, and
    parse uploads where a decompression bomb takes the server down (H1). The lazy imports that keep
    them out are each commented."""
    import subprocess
    import sys

    script = (
        "import sys\nfrom app import create_app\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'MADOGUCHI_ENV': 'development'}})\n"
        "client = app.test_client()\nclient.get('/'); client.get('/verify')\n"
        "client.post('/api/v1/verify', data=b'%PDF-1.7 not really', content_type='application/pdf')\n"
        "print(sorted(m for m in ('weasyprint', 'pydyf', 'pyhanko') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_h2_dev_tools_answer_only_this_machine(client):
    """The review's reproduction: an anonymous client read every reset link at /dev/mail."""
    assert client.get("/dev/mail/").status_code == 200  # the test client is 127.0.0.1
    for path in ("/dev/mail/", "/dev/mail/anything"):
        assert client.get(path, environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 404
    refused = client.post("/dev/webhook", data=b"{}", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert refused.status_code == 404


def test_l8_healthz_tells_others_only_the_verdict(client):
    """The review: /healthz showed anyone the database's kind and the migration head."""
    outside = client.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert outside.status_code == 200 and outside.get_json() == {"status": "ok"}


def test_l4_access_lines_carry_no_query_string_and_no_mailed_token():
    import runpy

    from app import PROJECT_ROOT

    settings = runpy.run_path(str(PROJECT_ROOT / "scripts" / "gunicorn.conf.py"))
    assert "%(q)s" not in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"]
    assert "%(f)s" not in settings["access_log_format"]  # a Referer can carry both
    redact = settings["redact"]
    assert redact("/account/reset/InR0b2tlbiI.abc") == "/account/reset/[redacted]"
    assert redact("/account/confirm/eyJyIjox") == "/account/confirm/[redacted]"
    assert redact("/office/enrol/abc.def") == "/office/enrol/[redacted]"
    assert redact("/office/enrol") == "/office/enrol" and redact("/office/") == "/office/"


def test_l4_sql_parameters_stay_out_of_error_logs(app, db):
    assert db.engine.hide_parameters is True
