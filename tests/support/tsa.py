"""A local RFC 3161 timestamp authority for tests: pyHanko's ``DummyTimeStamper`` behind ``http.server``.

It listens on 127.0.0.1 (a free port chosen by the OS), answers ``POST /`` with
``application/timestamp-reply``, and signs with its own RSA TSA certificate (DummyTimeStamper is
RSA-only) issued under a throw-away EC test root that is NOT the seal PKI's root: validators must be
told to trust it for timestamps (``verify_pdf(..., timestamp_roots=[tsa.root])``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import cms, core, tsp
from asn1crypto import keys as a_keys
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Madoguchi test TSA"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def make_tsa_pki() -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey]:
    """(root, tsa_cert, tsa_key): an EC root and an RSA-2048 TSA certificate (EKU timeStamping, critical)."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Madoguchi test TSA root")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Madoguchi test TSA"))
        .issuer_name(root_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    return root, tsa_cert, tsa_key


class _LoadedKeyTimeStamper(DummyTimeStamper):
    """DummyTimeStamper re-parses its RSA key for every token, and loading an RSA key costs ~55 ms
    (cryptography checks it); this one signs with the key object it was given."""

    def __init__(self, *, rsa_key: rsa.RSAPrivateKey, **kwargs):
        super().__init__(**kwargs)
        self._rsa_key = rsa_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._rsa_key.sign(
            signed_attrs.dump(), padding.PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs


@dataclass
class LocalTSA:
    url: str
    root: x509.Certificate
    server: ThreadingHTTPServer
    thread: threading.Thread
    requests: int = 0

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_tsa() -> LocalTSA:
    root, tsa_cert, tsa_key = make_tsa_pki()
    stamper = _LoadedKeyTimeStamper(
        rsa_key=tsa_key,
        tsa_cert=a_x509.Certificate.load(_der(tsa_cert)),
        tsa_key=a_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        certs_to_embed=[a_x509.Certificate.load(_der(root))],
    )
    state: dict[str, LocalTSA] = {}

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stalls

        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                req = tsp.TimeStampReq.load(body)
                resp = stamper.request_tsa_response(req).dump()
            except Exception:  # noqa: BLE001 - a malformed request gets a 400
                self.send_response(400)
                self.end_headers()
                return
            state["tsa"].requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(resp)))
            self.end_headers()
            self.wfile.write(resp)

        def log_message(self, format, *args):  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="local-tsa", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    tsa = LocalTSA(url=f"http://{host}:{port}/", root=root, server=server, thread=thread)
    state["tsa"] = tsa
    return tsa
