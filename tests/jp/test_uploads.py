"""Uploads are recognised by their bytes only; names and declared types are ignored."""

from __future__ import annotations

import pytest

from app import jp
from app.jp import InvalidValue


def test_real_files_are_recognised(tiny_pdf, tiny_jpeg, tiny_png):
    assert jp.sniff_upload(tiny_pdf) == "pdf"
    assert jp.sniff_upload(tiny_jpeg) == "jpeg"
    assert jp.sniff_upload(tiny_png) == "png"


def test_a_png_named_pdf_is_still_a_png(tiny_png):
    # sniff_upload never sees a filename; the caller's "scan.pdf" cannot change the answer.
    assert jp.sniff_upload(tiny_png) == "png"
    assert jp.content_type_for(jp.sniff_upload(tiny_png)) == "image/png"
    assert jp.extension_for(jp.sniff_upload(tiny_png)) == ".png"


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",  # an HTML page named photo.png
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"GIF89a\x01\x00\x01\x00",
        b"PK\x03\x04",  # a .docx
        b" %PDF-1.4",  # junk before the header
        b"",
    ],
)
def test_anything_else_is_not_an_upload(data):
    assert jp.sniff_upload(data) is None


def test_content_types():
    assert jp.content_type_for("pdf") == "application/pdf"
    assert jp.content_type_for("jpeg") == "image/jpeg"
    assert jp.content_type_for("png") == "image/png"
    with pytest.raises(ValueError):
        jp.content_type_for("html")


def test_check_upload_enforces_kind_size_and_emptiness(tiny_pdf, tiny_png):
    assert jp.check_upload(tiny_pdf) == "pdf"
    with pytest.raises(InvalidValue) as caught:
        jp.check_upload(tiny_png, accept=["pdf"])
    assert caught.value.code == "upload_type"
    assert str(caught.value.message) == "PDFのファイルを選んでください。"
    with pytest.raises(InvalidValue) as caught:
        jp.check_upload(b"<html></html>")
    assert "PDF・JPEG・PNG" in str(caught.value.message)
    with pytest.raises(InvalidValue) as caught:
        jp.check_upload(tiny_pdf + b"\0" * (5 * 1024 * 1024))
    assert caught.value.code == "upload_too_large"
    assert "5MB" in str(caught.value.message)
    with pytest.raises(InvalidValue) as caught:
        jp.check_upload(b"")
    assert caught.value.code == "upload_empty"
