"""Seal imprints (印影) as SVG (app/seals/imprint.py) and as one-page stamp PDFs (app/documents/stamp.py)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from app.documents.stamp import stamp_pdf
from app.seals import imprint
from tests.support.pdf_tools import pdffonts, pdftotext, rasterise, run

SVG = "{http://www.w3.org/2000/svg}"
PT_MM = 25.4 / 72


@pytest.mark.parametrize(("date", "expected"), [
    (dt.date(2025, 11, 22), "R7.11.22"),
    (dt.date(2019, 5, 1), "R1.5.1"),
    (dt.date(2019, 4, 30), "H31.4.30"),
    (dt.date(1989, 1, 8), "H1.1.8"),
    (dt.date(1989, 1, 7), "S64.1.7"),
])
def test_wareki(date, expected):
    assert imprint.wareki(date) == expected


def _texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def _check_fax_safe(svg: str) -> None:
    root = ET.fromstring(svg)
    assert root.get("width") == "24mm" and root.get("viewBox") == "0 0 240 240"
    mm_per_unit = 24 / 240
    for element in root.iter():
        for attr in ("fill", "stroke"):
            assert element.get(attr) in (None, "none", "#000"), (element.tag, attr, element.get(attr))
        if element.get("stroke-width"):
            assert float(element.get("stroke-width")) * mm_per_unit >= 1 * PT_MM  # ≥ 1 pt at 24 mm
    for text in root.iter(f"{SVG}text"):
        assert "Madoguchi BIZ UDGothic" in text.get("font-family")


def test_date_stamp_has_office_date_and_surname():
    svg = imprint.imprint_svg("山田", "市民課", dt.date(2025, 11, 22))
    assert _texts(svg) == ["市民課", "R7.11.22", "山田"]
    _check_fax_safe(svg)
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle")) == 1 and len(root.findall(f"{SVG}line")) == 2


def test_stamp_text_is_escaped():
    svg = imprint.imprint_svg('<&>"\'', "課</text><image href='file:///etc/passwd'/>", dt.date(2025, 1, 1))
    assert _texts(svg) == ["課</text><image href='file:///etc/passwd'/>", "R7.1.1", '<&>"\'']
    assert "<image" not in svg


def test_long_names_are_condensed_not_cut():
    svg = imprint.imprint_svg("勅使河原長谷川", "子ども家庭支援課地域福祉係", dt.date(2025, 11, 22))
    assert _texts(svg)[0] == "子ども家庭支援課地域福祉係"
    assert "scale(" in svg
    _check_fax_safe(svg)


def test_org_seal_reads_top_down_right_to_left():
    svg = imprint.org_seal_svg("若葉市長")
    _check_fax_safe(svg)
    texts = ET.fromstring(svg).findall(f"{SVG}text")
    assert "".join(t.text for t in texts) == "若葉市長之印"
    xs = [float(t.get("x")) for t in texts]
    assert xs[0] > xs[-1]  # first column on the right
    assert imprint.org_seal_svg("若葉市長印").count("<text") == 5  # no 之印 added to a name ending in 印


def test_stamp_pdf_is_exactly_the_stamp_size_black_and_in_our_font(tmp_path):
    path = tmp_path / "stamp.pdf"
    path.write_bytes(stamp_pdf(imprint.imprint_svg("山田", "市民課", dt.date(2025, 11, 22))))
    info = run("pdfinfo", str(path))
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert width == pytest.approx(24 / PT_MM, abs=0.05) and height == pytest.approx(24 / PT_MM, abs=0.05)
    assert "Pages:           1" in info
    assert all(re.match(r"^[A-Z]{6}\+Madoguchi-BIZ-UDGothic", f["name"]) for f in pdffonts(path))
    text = re.sub(r"\s+", "", pdftotext(path))
    assert "市民課" in text and "山田" in text and "R7.11.22" in text
    image = Image.open(rasterise(path, tmp_path / "r", "-r", "300", "-gray", "-aa", "no", "-aaVector", "no")[0])
    histogram = image.histogram()
    assert sum(histogram[1:255]) == 0  # pure black on white
    assert histogram[0] > 0.05 * sum(histogram)


def test_stamp_pdf_refuses_sizes_with_strokes_under_1_pt():
    with pytest.raises(ValueError):
        stamp_pdf(imprint.org_seal_svg("若葉市"), size_mm=12)
    with pytest.raises(ValueError):
        stamp_pdf("<p>not svg</p>")
