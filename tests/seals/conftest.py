"""Fixtures for the pure seal tests: no app, no database.

``tsa``: a local RFC 3161 responder for the whole session, ``(url, tsa_root_cert)``.
``seal_pki``: a throw-away seal PKI (root → issuing CA → organisation seal, two staff certificates).
Documents are rendered with WeasyPrint (PDF/A-3b) when it is installed, else drawn with pyHanko's writer.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from app.seals import pki
from app.seals.sign import FieldSpec, add_signature_fields
from tests.support.tsa import start_tsa

MUNICIPALITY = "架空市"
ORG_ID = "NTRJP-0000000000000"
ROOT_CRL_URL = "http://127.0.0.1:5000/pki/root-crl.der"
CRL_URL = "http://127.0.0.1:5000/pki/crl.der"

FIELDS = [
    FieldSpec("step1", 0, (60, 60, 160, 160)),
    FieldSpec("step2", 0, (180.5, 60.25, 280.75, 160.125)),  # boxes from WeasyPrint anchors are floats
    FieldSpec("OrgSeal", 0, (420, 60, 535, 175), lock=True),
]


@pytest.fixture(scope="session")
def tsa():
    server = start_tsa()
    yield server.url, server.root
    server.stop()


@dataclass
class SealPKI:
    root: pki.Issued
    issuing: pki.Issued
    org: pki.Issued
    clerk: pki.Issued
    approver: pki.Issued

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.issuing.cert, self.root.cert]

    def crls(self, revoked: list[tuple[int, datetime, x509.ReasonFlags]] = (), *, number: int = 1) -> list[bytes]:
        """The root's CRL (empty: covers the issuing CA) and the issuing CA's CRL with ``revoked``."""
        now = datetime.now(UTC)
        return [
            pki.make_crl(self.root, [], this_update=now, next_update=now + timedelta(days=30), crl_number=number),
            pki.make_crl(
                self.issuing, list(revoked), this_update=now, next_update=now + timedelta(days=7), crl_number=number
            ),
        ]

    def staff(self, name: str, email: str, office: str = "市民課") -> pki.Issued:
        return pki.new_staff_cert(
            self.issuing, name=name, office=office, email=email, organization=MUNICIPALITY, crl_url=CRL_URL
        )


def make_pki() -> SealPKI:
    root = pki.new_root(organization=MUNICIPALITY, common_name=f"{MUNICIPALITY} 電子印 ルート認証局")
    issuing = pki.new_issuing_ca(
        root, organization=MUNICIPALITY, common_name=f"{MUNICIPALITY} 電子印 発行認証局", crl_url=ROOT_CRL_URL
    )
    org = pki.new_org_seal(issuing, organization=MUNICIPALITY, organization_identifier=ORG_ID, crl_url=CRL_URL)
    clerk = pki.new_staff_cert(
        issuing, name="山田 太郎", office="市民課", email="yamada@city.example.jp", organization=MUNICIPALITY,
        crl_url=CRL_URL,
    )
    approver = pki.new_staff_cert(
        issuing, name="佐藤 花子", office="市民課", email="sato@city.example.jp", organization=MUNICIPALITY,
        crl_url=CRL_URL,
    )
    return SealPKI(root, issuing, org, clerk, approver)


@pytest.fixture(scope="session")
def seal_pki() -> SealPKI:
    return make_pki()


try:  # the documents package renders with WeasyPrint; fall back to pyHanko's writer without it
    import weasyprint
except ImportError:  # pragma: no cover - weasyprint is a project dependency
    weasyprint = None


DOC_HTML = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>住民票の写し交付申請</title>
<style>@page { size: A4; margin: 15mm } body { font-family: sans-serif; font-size: 12pt }</style></head>
<body><h1>住民票の写し交付申請</h1><p>受付番号 R-2026-000001</p><p>架空市 市民課</p></body></html>"""

STAMP_HTML = """<!doctype html><html><head><style>
@page { size: 30mm 30mm; margin: 0 }
html, body { margin: 0 }
div { box-sizing: border-box; width: 28mm; height: 28mm; margin: 1mm; border: 0.8mm solid #000;
      border-radius: 50%; display: flex; align-items: center; justify-content: center; font-size: 13pt }
</style></head><body><div>山田</div></body></html>"""


def _writer_pdf() -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): writer.add_object(font)})}
    )
    stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 770 Td (Madoguchi test document) Tj ET")
    writer.insert_page(PageObject(contents=writer.add_object(stream), media_box=(0, 0, 595, 842), resources=resources))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def plain_pdf() -> bytes:
    """A one-page PDF/A-3b document. Rendered in a child process: WeasyPrint 70.0 never closes the sRGB
    ICC profile it opens for PDF/A output, and the unclosed file would fail the test run (warnings are
    errors); app/documents renders in a child process too."""
    if weasyprint is None:
        return _writer_pdf()
    script = (
        "import sys, weasyprint; "
        "sys.stdout.buffer.write(weasyprint.HTML(string=sys.stdin.read()).write_pdf(pdf_variant='pdf/a-3b'))"
    )
    done = subprocess.run([sys.executable, "-c", script], input=DOC_HTML.encode(), capture_output=True, timeout=120,
                          check=True)
    return done.stdout


@pytest.fixture(scope="session")
def stamp_pdf() -> bytes | None:
    if weasyprint is None:
        return None
    return weasyprint.HTML(string=STAMP_HTML).write_pdf()


@pytest.fixture(scope="session")
def fielded_pdf(plain_pdf) -> bytes:
    """The rendered document with its three empty fields: step1, step2, OrgSeal (locked)."""
    return add_signature_fields(plain_pdf, FIELDS)
