"""M10: mail leaves over TLS with the server's certificate checked (the review: smtp:// never used
STARTTLS, so sealed PDFs and the SMTP password crossed the network in clear)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.jobs.mail import build_message, transport
from tests.support.http import free_port
from tests.support.mail import RecordingHandler


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _server(certificate, **kwargs):
    handler = RecordingHandler()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    options = {"tls_context": context, "require_starttls": True} if kwargs.pop("starttls", False) else {}
    if kwargs.pop("implicit", False):
        options = {"server_hostname": "localhost", "ssl_context": context}
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller, handler


def _send(app, monkeypatch, url: str):
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    with app.app_context():
        message = build_message({"to": "resident@example.jp", "subject": "件名", "body": "本文\n",
                                 "message_id": "<m1@madoguchi.test>"}, "madoguchi@example.lg.jp")
        return transport(message)


def test_m10_starttls_required_sends_only_after_tls_with_the_certificate_checked(app, monkeypatch, certificate):
    controller, handler = _server(certificate, starttls=True)
    try:
        url = f"smtp://127.0.0.1:{controller.port}?starttls=required"
        with pytest.raises(ssl.SSLCertVerificationError):  # an unknown CA: refused, nothing sent
            _send(app, monkeypatch, url)
        assert handler.messages == []
        _send(app, monkeypatch, f"{url}&cafile={certificate[0]}")
        assert [m["Subject"] for m in handler.wait_for(1)] == ["件名"]
    finally:
        controller.stop()


def test_m10_a_relay_without_starttls_gets_nothing(app, monkeypatch, certificate):
    controller, handler = _server(certificate)  # plain SMTP, no STARTTLS offered
    try:
        with pytest.raises(RuntimeError, match="does not offer STARTTLS"):
            _send(app, monkeypatch, f"smtp://127.0.0.1:{controller.port}?starttls=required&cafile={certificate[0]}")
        assert handler.messages == []
    finally:
        controller.stop()


def test_m10_smtps_is_implicit_tls(app, monkeypatch, certificate):
    controller, handler = _server(certificate, implicit=True)
    try:
        _send(app, monkeypatch, f"smtps://127.0.0.1:{controller.port}?cafile={certificate[0]}")
        assert len(handler.wait_for(1)) == 1
    finally:
        controller.stop()


def test_l4_a_refused_recipient_is_reported_without_the_address(app, monkeypatch):
    from app.jobs.mail import PermanentFailure

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 no such user"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with pytest.raises(PermanentFailure) as refused:
            _send(app, monkeypatch, f"smtp://127.0.0.1:{controller.port}")
        assert "550" in str(refused.value) and "resident@example.jp" not in str(refused.value)
    finally:
        controller.stop()
