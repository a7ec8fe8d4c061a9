from __future__ import annotations

import pytest

from tests.support import accounts as flows


@pytest.fixture
def new_client(app, db):
    """Another browser: its own cookies."""
    return app.test_client


@pytest.fixture
def client(new_client):
    return new_client()


@pytest.fixture
def confirmed_resident(app, client, run_worker):
    """A resident who signed up and opened the confirmation link, all over HTTP; returns the address.

    The mail goes to instance/mail/ (no SMTP_URL), the way a fresh development checkout sends it.
    """
    address = "hanako@example.jp"
    assert flows.sign_up(client, address).status_code == 302
    assert run_worker() == 1
    (message,) = flows.written_mail(app, address)
    assert client.get(flows.link_path(flows.mail_body(message))).status_code == 302
    return address
