"""Talking to the app over HTTP: CSRF tokens from pages, free loopback ports."""

from __future__ import annotations

import re
import socket

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def free_port() -> int:
    """aiosmtpd's Controller(port=0) does not work, so servers are given a port chosen here."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def csrf_token(response) -> str:
    """The CSRF token of a test-client response's page."""
    return csrf_from_html(response.get_data(as_text=True))


def csrf_from_html(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
