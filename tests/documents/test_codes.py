"""app/documents/codes.py: verification codes and the QR."""

from __future__ import annotations

import io
import re

import pytest
import segno
import zxingcpp
from PIL import Image

from app.documents import codes

CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{16}$")


def test_new_codes_are_16_crockford_characters_and_do_not_repeat():
    made = {codes.new_verification_code() for _ in range(2000)}
    assert len(made) == 2000
    assert all(CROCKFORD.match(code) for code in made)
    # all 32 symbols turn up in first and last positions (80 bits used, no constant padding)
    assert len({code[0] for code in made}) == 32 and len({code[-1] for code in made}) == 32


def test_format_and_normalise_round_trip():
    for _ in range(200):
        code = codes.new_verification_code()
        printed = codes.format_code(code)
        assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", printed)
        assert codes.normalise_code(printed) == code
        assert codes.normalise_code(printed.lower()) == code
        assert codes.normalise_code(printed.replace("-", " ")) == code
        assert codes.format_code(printed) == printed


@pytest.mark.parametrize(("typed", "expected"), [
    ("0123-4567-89ab-cdef", "0123456789ABCDEF"),
    ("O123 4567 89AB CDEF", "0123456789ABCDEF"),  # O read as 0
    ("0I23-4567-89AB-CDEF", "0123456789ABCDEF"),  # I read as 1
    ("0l23-4567-89AB-CDEF", "0123456789ABCDEF"),  # l read as 1
    ("  0123456789abcdef  ", "0123456789ABCDEF"),
    ("０１２３－４５６７－８９ＡＢ－ＣＤＥＦ", "0123456789ABCDEF"),  # typed full-width with an IME
    ("0123ー4567ー89AB ー CDEF", "0123456789ABCDEF"),  # long-vowel mark typed as a dash
    ("0123-4567-89AB-CDE", None),  # too short
    ("0123-4567-89AB-CDEFG", None),  # too long
    ("0123-4567-89AB-CDEU", None),  # U is not Crockford
    ("0123-4567-89AB-CDE*", None),
    ("0123/4567/89AB/CDEF", None),
    ("", None),
    (None, None),
    ("0" * 100, None),
])
def test_normalise_follows_crockford(typed, expected):
    assert codes.normalise_code(typed) == expected


def test_format_refuses_garbage():
    with pytest.raises(ValueError):
        codes.format_code("not a code")


URL = "https://madoguchi.city.wakaba.lg.jp/verify/0123456789ABCDEF"


def test_qr_svg_is_inline_sized_in_mm_with_quiet_zone_and_ec_m():
    svg = codes.qr_svg(URL)
    assert svg.startswith("<svg ") and "<?xml" not in svg
    qr = segno.make(URL, error="m", micro=False, boost_error=False)
    modules = qr.symbol_size(border=0)[0]
    size = modules + 8
    assert f'viewBox="0 0 {size} {size}"' in svg  # 4 modules of quiet zone each side
    width = re.search(r'width="([\d.]+)mm"', svg).group(1)
    assert float(width) / size >= 0.6
    assert f'height="{width}mm"' in svg
    assert qr.version <= 5  # keeps the printed symbol ≤ ~34 mm
    assert set(re.findall(r"#[0-9a-f]{3,6}", svg)) <= {"#000", "#fff"}


def test_qr_svg_decodes_to_the_url_when_printed(tmp_path):
    """Printed through WeasyPrint at its real size and rasterised at 200 dpi."""
    import subprocess

    from app.documents import pdf

    html = f'<html lang="ja"><body><p>照合</p>{codes.qr_svg(URL)}</body></html>'
    data = pdf.render_pdf(html, stylesheets=["@page { size: A6; margin: 10mm }"], title="qr")
    (tmp_path / "qr.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-singlefile", "-png", str(tmp_path / "qr.pdf"),
                    str(tmp_path / "qr")], check=True)
    image = Image.open(io.BytesIO((tmp_path / "qr.png").read_bytes()))
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [URL]
    assert results[0].ec_level == "M"


def test_qr_refuses_modules_under_0_6_mm():
    with pytest.raises(ValueError):
        codes.qr_svg(URL, module_mm=0.5)
