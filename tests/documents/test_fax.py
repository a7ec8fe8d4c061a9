"""Fax output: TIFF Class F tags (G3 MH 1-D and G4, fine and standard), read back by libtiff and poppler.
A case's fax (cover sheet, sealed pages, `flask fax render`) is tests/workflow/test_case_fax.py."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

from app.documents import fax
from app.documents.pdf import render_pdf


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
