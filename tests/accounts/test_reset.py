"""Password reset by the e-mailed link: once only, and every old session ends."""

from __future__ import annotations

from tests.support import accounts as flows
from tests.support.http import csrf_token

NEW_PASSWORD = "a brand new passphrase"


def _set_password(client, path: str, password: str, confirm: str | None = None):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={
        "csrf_token": csrf_token(page), "password": password,
        "password_confirm": password if confirm is None else confirm,
    })  # fmt: skip


def test_reset_by_mailed_link_works_once_and_ends_old_sessions(
    client, new_client, confirmed_resident, smtp_server, run_worker
):
    old_device = new_client()
    assert flows.sign_in(old_device, confirmed_resident).status_code == 302
    assert old_device.get("/account").status_code == 200

    response = flows.request_reset(client, confirmed_resident)
    assert response.status_code == 302 and flows.location_path(response) == "/account/check-email/reset"
    assert run_worker() == 1
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == confirmed_resident and message["Subject"] == "【窓口】パスワードの再設定"
    reset_path = flows.link_path(flows.mail_body(message))

    page = client.get(reset_path)
    assert page.status_code == 200 and confirmed_resident in page.get_data(as_text=True)
    mismatch = _set_password(client, reset_path, NEW_PASSWORD, "something else entirely")
    assert mismatch.status_code == 422 and "一致しません" in mismatch.get_data(as_text=True)
    short = _set_password(client, reset_path, "short")
    assert short.status_code == 422 and "10文字以上" in short.get_data(as_text=True)

    done = _set_password(client, reset_path, NEW_PASSWORD)
    assert done.status_code == 302 and flows.location_path(done) == "/account/sign-in"
    assert "パスワードを変更しました" in client.get("/account/sign-in").get_data(as_text=True)

    # The device signed in with the old password is signed out.
    assert old_device.get("/account").status_code == 302
    # The link is spent.
    again = client.get(reset_path)
    assert again.status_code == 400 and "使用済み" in again.get_data(as_text=True)
    # Only the new password works.
    assert flows.sign_in(client, confirmed_resident).status_code == 422
    assert flows.sign_in(client, confirmed_resident, NEW_PASSWORD).status_code == 302


def test_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, run_worker):
    response = flows.request_reset(client, "nobody@example.jp")
    assert response.status_code == 302 and flows.location_path(response) == "/account/check-email/reset"
    assert run_worker() == 0


def test_a_forged_reset_link_is_refused(client):
    response = client.get("/account/reset/forged.token.value")
    assert response.status_code == 400
    assert 'href="/account/reset"' in response.get_data(as_text=True)


def test_reset_requests_are_limited(client, confirmed_resident):
    for _ in range(5):
        assert flows.request_reset(client, confirmed_resident).status_code == 302
    assert flows.request_reset(client, "someone-else@example.jp").status_code == 429
    # The address is limited as well, whichever IP asks.
    other_ip = {"REMOTE_ADDR": "192.0.2.44"}
    assert flows.request_reset(client, confirmed_resident, environ_base=other_ip).status_code == 429
    assert flows.request_reset(client, "someone-else@example.jp", environ_base=other_ip).status_code == 302
