"""Fax output: TIFF Class F tags (G3 MH 1-D and G4, fine and standard), page order and count, the
FAX送付状 (再送 on a resend, never an answer value or My Number), and `flask fax render`."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
import sqlalchemy as sa
from flask import render_template
from PIL import Image

from app.demo import DEMO_MYNUMBER
from app.documents import fax, faxing
from app.documents import service as documents
from app.documents.pdf import render_pdf
from app.submissions.models import Submission

DESTINATION = {"code": "homukyoku", "name": "架空地方法務局 本局", "fax_number": "03-0000-1111"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:  # scripts/setup installs libtiff-tools; failing beats silently skipping
        pytest.fail(f"{name} missing: run scripts/setup (libtiff-tools)")
    return path


@pytest.fixture(scope="module")
def two_page_pdf() -> bytes:
    html = ('<html lang="ja"><body><div style="width:40mm;height:20mm;background:#000"></div>'
            '<p style="font-size:14pt">受付番号 R07-CHY-000123</p>'
            '<p style="break-before:page;font-size:14pt">二頁目</p></body></html>')
    return render_pdf(html, title="t")


@pytest.mark.parametrize("resolution", ["fine", "standard"])
@pytest.mark.parametrize("compression", ["g3", "g4"])
def test_tiff_class_f_tags(two_page_pdf, resolution, compression, tmp_path):
    pages = fax.rasterise(two_page_pdf, resolution=resolution)
    ry = fax.Y_DPI[resolution]
    assert [p.size for p in pages] == [(1728, 2292 if ry == 196 else 1146)] * 2
    data = fax.tiff_class_f(pages, resolution=resolution, compression=compression)
    read = fax.read_tiff(data)
    assert len(read) == 2
    for number, (image, tags) in enumerate(read):
        assert tags[256] == 1728 and tags[257] == pages[number].height
        assert tags[258] in (1, (1,))
        assert tags[259] == (3 if compression == "g3" else 4)
        assert tags[262] == 0  # WhiteIsZero
        assert tags[266] == 1
        assert float(tags[282]) == 204 and float(tags[283]) == ry and tags[296] == 2
        assert tags[278] == pages[number].height  # one strip per page
        assert tags[297] == (number, 2)
        if compression == "g3":
            assert tags[292] == 0  # T4Options: 1-D modified Huffman, no fill bits
        # the pixels come back as they went in: black text stays black
        assert image.tobytes() == pages[number].tobytes()
    path = tmp_path / "f.tif"
    path.write_bytes(data)
    info = subprocess.run([_tool("tiffinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    assert info.count("Image Width: 1728") == 2
    assert info.count("Photometric Interpretation: min-is-white") == 2
    assert info.count(f"Resolution: 204, {ry} pixels/inch") == 2
    assert info.count("CCITT Group 3" if compression == "g3" else "CCITT Group 4") == 2
    assert "FillOrder: msb-to-lsb" in info
    if compression == "g3":
        assert info.count("Group 3 Options: (0 = 0x0)") == 2
    dump = subprocess.run([_tool("tiffdump"), str(path)], capture_output=True, text=True, check=True).stdout
    assert dump.count("Photometric (262) SHORT (3) 1<0>") == 2
    assert dump.count("BitsPerSample (258) SHORT (3) 1<1>") == 2


def test_white_is_zero_shows_black_on_white_in_an_independent_reader(two_page_pdf, tmp_path):
    """libtiff's tiff2pdf honours tag 262; poppler then shows the black block black and the page white."""
    page = fax.rasterise(two_page_pdf, resolution="fine")[0]
    tif = tmp_path / "f.tif"
    tif.write_bytes(fax.tiff_class_f([page], resolution="fine", compression="g4"))
    subprocess.run([_tool("tiff2pdf"), "-o", str(tmp_path / "f.pdf"), str(tif)], check=True, capture_output=True)
    subprocess.run(["pdftoppm", "-gray", "-r", "50", "-singlefile", str(tmp_path / "f.pdf"), str(tmp_path / "f")],
                   check=True, capture_output=True)
    with Image.open(tmp_path / "f.pgm") as shown:
        grey = shown.convert("L")
        # the 40×20 mm black block sits at the top-left of the content area (print.css: 15 mm, 12 mm)
        block = grey.getpixel((round((12 + 20) / 25.4 * 50 + 0.8), round((15 + 10) / 25.4 * 50)))
        corner = grey.getpixel((grey.width - 5, grey.height - 5))
    assert block < 64 and corner > 192


def test_bad_options_are_refused(two_page_pdf):
    with pytest.raises(ValueError):
        fax.rasterise(two_page_pdf, resolution="superfine")
    with pytest.raises(ValueError):
        fax.tiff_class_f(fax.rasterise(two_page_pdf), compression="jbig")


@pytest.fixture
def approved(db, new_case, staff, approve):
    submission = new_case("juminhyo", "in_review")
    for member in ("clerk", "approver"):
        approve(submission.id, staff[member])
    db.session.expire_all()
    submission = db.session.get(Submission, submission.id)
    assert submission.state == "approved"
    return submission


def _ocr(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return subprocess.run(["tesseract", "stdin", "stdout", "--psm", "6", "-l", "jpn", "--dpi", "204"],
                          input=buffer.getvalue(), capture_output=True, check=True, timeout=120).stdout.decode()


def test_render_fax_cover_first_then_the_sealed_document(app_ctx, approved):
    sealed = documents.latest_sealed_bytes(approved.receipt_number)
    document_pages = fax.page_count(sealed)
    data = faxing.render_fax(approved, DESTINATION, resolution="fine", compression="g4", attempt=2)
    read = fax.read_tiff(data)
    assert len(read) == 1 + document_pages
    # pages 2… are the sealed document's own pages, not a new render
    assert [p.tobytes() for p, _tags in read[1:]] == [p.tobytes() for p in fax.rasterise(sealed)]
    top = read[0][0].crop((0, 0, 1728, 700)).convert("L")
    text = "".join(_ocr(top).split())
    assert "送付状" in text
    assert "再送" in text


def test_cover_html_resend_mark_and_no_answers(app_ctx, approved):
    document = faxing.sealed_document(approved)
    target = faxing.as_destination(DESTINATION)
    first = render_template("pdf/fax_cover.html", **faxing.cover_context(
        approved, document, target, total_pages=3, attempt=1))
    again = render_template("pdf/fax_cover.html", **faxing.cover_context(
        approved, document, target, total_pages=3, attempt=3))
    assert "再送" not in first
    assert "再送（3回目）" in again
    for html in (first, again):
        assert approved.receipt_number in html and "03-0000-1111" in html and "3枚" in html
        assert document.verification_code in html  # in the verify address
        assert DEMO_MYNUMBER not in html
        for value in approved.answers.values():
            if isinstance(value, str) and len(value) > 2:
                assert value not in html


def test_not_sealed_is_refused(app_ctx, new_case):
    submission = new_case("juminhyo", "in_review")
    with pytest.raises(faxing.NotSealed):
        faxing.render_fax(submission, DESTINATION)


def test_cli_fax_render(app_ctx, runner, approved, new_case, tmp_path, db):
    out = tmp_path / "fax"
    result = runner.invoke(args=["fax", "render", approved.receipt_number, "--out", str(out),
                                 "--resolution", "standard", "--compression", "g3"])
    assert result.exit_code == 0, result.output
    path = out / f"{approved.receipt_number}.tif"
    assert str(path) in result.output and "pages:" in result.output and "photometric=0" in result.output
    (_image, tags), *_rest = fax.read_tiff(path.read_bytes())
    assert tags[259] == 3 and float(tags[283]) == 98

    unknown = runner.invoke(args=["fax", "render", "NOPE-0000", "--out", str(out)])
    assert unknown.exit_code == 1 and "NOPE-0000" in unknown.output
    pending = new_case("juminhyo", "in_review")
    unsealed = runner.invoke(args=["fax", "render", pending.receipt_number, "--out", str(out)])
    assert unsealed.exit_code == 1 and "not sealed" in unsealed.output
    assert db.session.scalar(sa.select(Submission).where(Submission.receipt_number == "NOPE-0000")) is None
