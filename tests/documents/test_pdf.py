"""app/documents/pdf.py and the printed templates: PDF/A-3b, the JSON attachment, the locked-down
fetcher, rendering limits, seal boxes, fax safety and the QR. Pure: no app, no database."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import weasyprint
import zxingcpp
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from app.documents import codes, fetcher, pdf
from app.documents.render_pool import RenderPool
from tests.support import printing as helpers
from tests.support.pdf_tools import page_count, pdffonts, pdftotext, rasterise

ANSWERS = json.dumps({"name": "山田 太郎", "copies": 2}, ensure_ascii=False, sort_keys=True).encode()
HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<link rel=attachment href="file:///etc/hostname">',
    "http://169.254.169.254/latest/meta-data/",
    "<style>@import url(file:///etc/passwd);</style>",
]
MM = 72 / 25.4  # points per mm
A4 = (210 * MM, 297 * MM)


def approval(**kwargs) -> tuple[bytes, dict, dict]:
    ctx = helpers.context(**kwargs)
    html = helpers.render_template("pdf/approval.html", **ctx)
    data, boxes = pdf.render_with_boxes(html, attachments=[("answers.json", ANSWERS)], title=ctx["form_title"])
    return data, seal_boxes_only(boxes), ctx


def seal_boxes_only(boxes: dict) -> dict:
    """The signature-field boxes; value-* and doc-* boxes (fax legibility crops) are checked elsewhere."""
    return {name: box for name, box in boxes.items() if name.startswith("seal-")}


@pytest.fixture(scope="module")
def approval_pdf() -> tuple[bytes, dict, dict]:
    return approval(code="0123456789ABCDEF")


def reader(data: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(data))


def embedded_files(data: bytes) -> dict[str, object]:
    root = reader(data).root
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return {}
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    return {str(names[i]): names[i + 1] for i in range(0, len(names), 2)}


# ---- WeasyPrint itself --------------------------------------------------------------------------------


def test_weasyprint_is_70_or_later_with_harfbuzz_subsetting():
    assert int(weasyprint.__version__.split(".")[0]) >= 70  # 70.0 closed the stylesheet/xmp fetcher bypass
    from weasyprint.text.ffi import harfbuzz_subset

    assert harfbuzz_subset is not None, "libharfbuzz-subset0 missing: CJK subsetting is 4–6× slower"


# ---- PDF/A-3b and the attachment ----------------------------------------------------------------------


def test_pdfa_3b_identification_in_xmp(approval_pdf):
    root = reader(approval_pdf[0]).root
    xmp = root["/Metadata"].data.decode()
    assert re.search(r'pdfaid:part="3"', xmp)
    assert re.search(r'pdfaid:conformance="B"', xmp)
    assert root["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    assert str(root["/Lang"]) == "ja"
    assert "住民票の写し等交付請求書" in xmp  # the title, no personal data


def test_json_attachment_is_the_only_embedded_file_with_relationship_data(approval_pdf):
    files = embedded_files(approval_pdf[0])
    assert list(files) == ["answers.json"]
    spec = files["answers.json"]
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/EF"]["/F"].data == ANSWERS
    assert spec["/EF"]["/F"]["/Subtype"] == "/application/json"
    root = reader(approval_pdf[0]).root
    associated, names = root["/AF"], root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert len(associated) == 1  # WeasyPrint 70 lists it twice; pdf.py removes the duplicate
    assert associated.raw_get(0).idnum == names.raw_get(1).idnum


# ---- the fetcher ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "https://example.com/font.ttf",
    "ftp://example.com/x",
    "data:text/css,body{color:red}",
    "data:font/ttf;base64,AAAA",
    "print.css",
    "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf",
    "fonts/BIZUDGothic-Regular.ttf",
    "madoguchi-asset:fonts/../../../../etc/passwd",
    "madoguchi-asset:/etc/passwd",
    "madoguchi-asset:unknown.css",
    "MADOGUCHI-ASSET:fonts/BIZUDGothic-Regular.ttf",
])
def test_fetcher_refuses_everything_outside_the_allow_list(url):
    assets = fetcher.AssetFetcher(css={"print.css": "p { color: #000 }"})
    with pytest.raises(fetcher.AssetRefused):
        assets.fetch(url)
    with pytest.raises(fetcher.AssetRefused):
        assets(url)  # WeasyPrint's own entry point
    assert assets.served == []


def test_fetcher_serves_the_allow_listed_fonts_and_css():
    assets = fetcher.AssetFetcher(css={"print.css": "p { color: #000 }"})
    font = assets.fetch("madoguchi-asset:fonts/BIZUDGothic-Regular.ttf")
    assert font.read() == Path(fetcher.FONT_FILES["fonts/BIZUDGothic-Regular.ttf"][0]).read_bytes()
    css = assets.fetch("madoguchi-asset:print.css")
    assert css.read() == b"p { color: #000 }" and css.content_type == "text/css"


def test_hostile_answers_are_printed_as_text_and_fetch_nothing(write_pdf):
    rows = [{"label": f"自由記述{i}", "value": value, "items": None} for i, value in enumerate(HOSTILE)]
    rows.append({"label": "世帯員", "value": "", "items": [[("氏名", '<img src="file:///etc/passwd">')]]})
    data, _boxes, _ctx = approval(extra_rows=rows)
    assert list(embedded_files(data)) == ["answers.json"]
    assert b"root:x:0:0" not in data
    text = pdftotext(write_pdf(data))
    flat = re.sub(r"\s+", "", text)
    for value in HOSTILE:
        assert re.sub(r"\s+", "", value) in flat
    assert "氏名：<imgsrc=\"file:///etc/passwd\">" in flat


@pytest.mark.parametrize("payload", [
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/hostname">',
    '<link rel="stylesheet" href="http://169.254.169.254/">',
    '<style>@import "file:///etc/passwd";</style>',
    '<p style="background: url(data:image/png;base64,iVBORw0KGgo=)">x</p>',
    '<object data="file:///etc/passwd"></object>',
    # L12: WeasyPrint swallows the refusal of an SVG's sub-resource; the render must fail all the same.
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
    '<image href="file:///etc/passwd" width="10" height="10"/></svg>',
    '<img src="data:image/svg+xml;utf8,<svg xmlns=\'http://www.w3.org/2000/svg\'>'
    '<image href=\'file:///etc/passwd\'/></svg>">',
])
def test_markup_that_escaped_the_template_fails_the_render(payload):
    """Defence in depth: if a URL ever reached WeasyPrint, the render stops instead of fetching it."""
    with pytest.raises(pdf.RenderFailed, match="refused URL"):
        pdf.render_pdf(f'<html lang="ja"><body><p>本文</p>{payload}</body></html>', title="t")


def test_stylesheets_are_strings_never_urls():
    with pytest.raises(TypeError):
        pdf.render_pdf("<p>x</p>", stylesheets="file:///etc/passwd", title="t")
    # a URL given as a stylesheet is parsed as CSS text (and is not valid CSS): nothing is fetched
    data = pdf.render_pdf("<p>x</p>", stylesheets=["file:///etc/passwd"], title="t")
    assert b"root:x:0:0" not in data


# ---- seal boxes -----------------------------------------------------------------------------------------


def test_boxes_for_every_seal_field_lie_on_the_page_and_are_24_mm(approval_pdf, write_pdf):
    data, boxes, ctx = approval_pdf
    expected = {f"seal-{step['field_name']}" for step in ctx["route"]} | {"seal-org-seal"}
    assert set(boxes) == expected
    pages = page_count(write_pdf(data))
    for _name, (page, (x1, y1, x2, y2)) in boxes.items():
        assert 0 <= page < pages
        assert 10 * MM <= x1 < x2 <= A4[0] - 10 * MM
        assert 10 * MM <= y1 < y2 <= A4[1] - 5 * MM
        assert x2 - x1 == pytest.approx(24 * MM, abs=0.2)
        assert y2 - y1 == pytest.approx(24 * MM, abs=0.2)
    ordered = [boxes[f"seal-{step['field_name']}"] for step in ctx["route"]]
    assert ordered == sorted(ordered, key=lambda b: (b[0], -b[1][3], b[1][0]))  # route order: reading order


def test_boxes_sit_exactly_inside_the_printed_frames(approval_pdf, write_pdf, tmp_path):
    """Rasterise at 2 px/pt: the frame's 1 pt rule is just outside each box, its inside is blank."""
    data, boxes, _ctx = approval_pdf
    images = rasterise(write_pdf(data), tmp_path / "r", "-r", "144", "-gray", "-aa", "no", "-aaVector", "no")
    for name, (page, (x1, y1, x2, y2)) in boxes.items():
        im = Image.open(images[page])
        scale = im.width / A4[0]

        def px(x, y, im=im, scale=scale):
            return im.getpixel((int(x * scale), int((A4[1] - y) * scale)))

        mid_x, mid_y = (x1 + x2) / 2, (y1 + y2) / 2
        for x, y in ((x1 - 0.5, mid_y), (x2 + 0.5, mid_y), (mid_x, y1 - 0.5), (mid_x, y2 + 0.5)):
            assert px(x, y) < 128, f"{name}: no frame at ({x:.1f}, {y:.1f})"
        inside = im.crop((int(x1 * scale) + 2, int((A4[1] - y2) * scale) + 2,
                          int(x2 * scale) - 2, int((A4[1] - y1) * scale) - 2))
        assert inside.getextrema() == (255, 255), f"{name}: the box is not empty"


# ---- fax safety -----------------------------------------------------------------------------------------

# The Gothic faces, and the monospaced face of the receipt number (Latin letters and digits only).
ALLOWED_FONTS = re.compile(r"^[A-Z]{6}\+Madoguchi-(BIZ-UDGothic(-Bold)?|IPAexGothic|Code-Bold)$")


def test_only_our_gothic_fonts_are_embedded_even_for_characters_they_lack(write_pdf):
    rows = [{"label": "自由記述", "value": "絵文字😀 記号♨ ギリシャΩ 外字𠮷 ハングル한글 Ünïcödé", "items": None}]
    data, _boxes, _ctx = approval(extra_rows=rows)
    fonts = pdffonts(write_pdf(data))
    assert fonts
    for font in fonts:
        assert ALLOWED_FONTS.match(font["name"]), font["line"]
        assert (font["emb"], font["sub"]) == ("yes", "yes"), font["line"]
        assert "Mincho" not in font["name"] and "Min" not in font["name"]


def test_receipt_fonts_are_gothic(write_pdf):
    html = helpers.render_template("pdf/receipt.html", **helpers.context(with_route=False))
    fonts = pdffonts(write_pdf(pdf.render_pdf(html, title="受付控")))
    assert fonts and all(ALLOWED_FONTS.match(font["name"]) for font in fonts)


def _grey_share(image: Image.Image) -> float:
    histogram = image.histogram()
    return sum(histogram[41:215]) / sum(histogram)


def test_pages_are_pure_black_on_white_with_clear_margins(approval_pdf, write_pdf, tmp_path):
    """No anti-aliasing in the rasteriser: any grey pixel would be a grey fill, tint or grey text."""
    images = rasterise(write_pdf(approval_pdf[0]), tmp_path / "r", "-r", "100", "-gray", "-aa", "no",
                       "-aaVector", "no")
    for path in images:
        im = Image.open(path)
        assert _grey_share(im) == 0, f"{path.name} has grey pixels"
        mm = im.width / 210
        top = im.crop((0, 0, im.width, int(5 * mm)))
        left = im.crop((0, 0, int(10 * mm), im.height))
        right = im.crop((im.width - int(10 * mm), 0, im.width, im.height))
        bottom = im.crop((0, im.height - int(10 * mm), im.width, im.height))
        for band in (top, left, right, bottom):
            assert band.getextrema() == (255, 255), f"{path.name}: something printed in a margin"


def test_grey_check_catches_a_grey_fill(write_pdf, tmp_path):
    """The check above is not vacuous: a grey table fill shows up."""
    html = '<html lang="ja"><body><p style="background:#ccc">グレーの背景</p></body></html>'
    images = rasterise(write_pdf(pdf.render_pdf(html, title="t")), tmp_path / "g", "-r", "100", "-gray",
                       "-aa", "no", "-aaVector", "no")
    assert _grey_share(Image.open(images[0])) > 0


def test_print_css_keeps_the_fax_rules():
    css = pdf.document_css()
    assert "url(" not in css and "@import" not in css
    for value, unit in re.findall(r"font-size:\s*([\d.]+)(pt|mm|px)", css):
        size_pt = float(value) * {"pt": 1, "mm": MM, "px": 0.75}[unit]
        assert size_pt >= 9, f"font-size {value}{unit} under 9 pt"
    for width, unit in re.findall(r"border(?:-\w+)*:\s*([\d.]+)(pt|mm|px) solid", css):
        assert float(width) * {"pt": 1, "mm": MM, "px": 0.75}[unit] >= 1, f"rule {width}{unit} under 1 pt"
    colours = set(re.findall(r"#[0-9a-fA-F]{3,6}\b", css))
    assert colours <= {"#000", "#fff"}, colours
    assert "Mincho" not in css and "serif" not in css.replace("sans-serif", "")


def test_values_are_at_least_11_pt_and_labels_at_least_9_pt(approval_pdf, write_pdf):
    """From the PDF itself: pdftotext -bbox gives each word's height (≈ the font size)."""
    from tests.support.pdf_tools import run

    xhtml = run("pdftotext", "-bbox", "-f", "1", "-l", "1", str(write_pdf(approval_pdf[0])), "-")
    words = {}
    for y_min, y_max, word in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)<', xhtml):
        words.setdefault(word, float(y_max) - float(y_min))
    assert words["山田"] >= 11 * 0.95  # a value
    assert words["氏名"] >= 9 * 0.95  # a label
    assert min(words.values()) >= 9 * 0.95


# ---- QR and the footer on every page ----------------------------------------------------------------------


def _decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_every_page_shows_receipt_number_page_count_code_and_a_readable_qr(write_pdf, tmp_path):
    rows = [{"label": f"追加項目{i}", "value": f"値{i} " * 8, "items": None} for i in range(45)]
    data, _boxes, ctx = approval(extra_rows=rows, code="7ZZZ0000AAAA9999")
    path = write_pdf(data)
    pages = page_count(path)
    assert pages >= 2
    images = rasterise(path, tmp_path / "r", "-r", "200", "-gray")
    assert len(images) == pages
    for number, image in enumerate(images, start=1):
        text = pdftotext(path, number)
        assert ctx["receipt_number"] in text
        assert re.search(rf"{number}\s*/\s*{pages}", text)
        assert "7ZZZ-0000-AAAA-9999" in text
        assert _decode(Image.open(image)) == [ctx["verify_url"]]


def test_qr_survives_standard_resolution_fax(approval_pdf, write_pdf, tmp_path):
    """204 × 98 dpi, 1 bit (HylaFAX's default), rows doubled back to square pixels by the receiver."""
    images = rasterise(write_pdf(approval_pdf[0]), tmp_path / "f", "-mono", "-rx", "204", "-ry", "98",
                       "-f", "1", "-l", "1")
    fax = Image.open(images[0])
    square = fax.resize((fax.width, fax.height * 2), Image.NEAREST)
    results = zxingcpp.read_barcodes(square)
    assert [r.text for r in results] == [approval_pdf[2]["verify_url"]]
    assert results[0].ec_level == "M"


def test_receipt_has_no_seal_boxes_no_code_and_no_qr_but_the_receipt_number_on_every_page(write_pdf, tmp_path):
    """A receipt carries no seal, so it prints nothing that claims it can be verified (no 照合番号, no QR)."""
    rows = [{"label": f"項目{i}", "value": "あいうえお" * 6, "items": None} for i in range(50)]
    ctx = helpers.context(with_route=False, extra_rows=rows)
    html = helpers.render_template("pdf/receipt.html", **ctx)  # even given a code, it prints none
    assert 'id="seal-' not in html
    data, boxes = pdf.render_with_boxes(html, attachments=[("answers.json", ANSWERS)], title="受付控")
    assert seal_boxes_only(boxes) == {}
    path = write_pdf(data)
    images = rasterise(path, tmp_path / "r", "-r", "200", "-gray")
    assert len(images) >= 2
    for number, image in enumerate(images, start=1):
        text = pdftotext(path, number)
        assert ctx["receipt_number"] in text and "照合番号" not in text and ctx["verification_code"] not in text
        assert _decode(Image.open(image)) == []
    assert "申請内容の控え" in pdftotext(path, 1)


def test_templates_escape_everything():
    ctx = helpers.context()
    ctx["form_title"] = "<script>x</script>"
    ctx["route"][0]["step_name"] = '"><img src=x>'
    html = helpers.render_template("pdf/approval.html", **ctx)
    assert "<script>x" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;" in html
    tags = _tags(html)  # nothing for WeasyPrint to fetch: no element that loads, no URL attribute
    assert not {"img", "link", "object", "embed", "iframe", "image", "script", "style", "base"} & {t for t, _ in tags}
    assert not [(t, a) for t, attrs in tags for a, _v in attrs if a in {"src", "href", "data", "style", "xlink:href"}]


def _tags(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


# ---- the render pool -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool():
    with RenderPool(cpu_seconds=4, memory_mb=600, wall_seconds=30, max_pages=40) as render_pool:
        yield render_pool


def _small_approval_html() -> str:
    return helpers.render_template("pdf/approval.html", **helpers.context())


def test_pool_renders_a_document_with_boxes(pool):
    data, boxes = pool.render(_small_approval_html(), attachments=[("answers.json", ANSWERS)], title="t")
    boxes = seal_boxes_only(boxes)
    assert data.startswith(b"%PDF-")
    assert "seal-org-seal" in boxes and len(boxes) == len(helpers.route()) + 1
    assert embedded_files(data)["answers.json"]["/EF"]["/F"].data == ANSWERS


def test_pool_hits_the_cpu_limit_on_a_huge_answer_and_recovers(pool):
    huge = helpers.render_template("pdf/approval.html", **helpers.context(
        extra_rows=[{"label": f"行{i}", "value": "長い回答" * 10, "items": None} for i in range(5000)]))
    pool.max_pages = None  # let the CPU limit, not the page cap, stop it
    first_pid = pool.pid
    try:
        with pytest.raises(pdf.RenderFailed) as failure:
            pool.render(huge, attachments=[], title="t")
    finally:
        pool.max_pages = 40
    assert "CPU" in failure.value.reason
    assert pool.pid != first_pid  # replaced
    data, boxes = pool.render(_small_approval_html(), attachments=[("answers.json", ANSWERS)], title="t")
    boxes = seal_boxes_only(boxes)
    assert data.startswith(b"%PDF-") and boxes


def test_pool_rejects_too_many_pages_without_losing_the_process(pool):
    pid = pool.pid
    many = helpers.render_template("pdf/receipt.html", **helpers.context(
        with_route=False, extra_rows=[{"label": f"行{i}", "value": "回答", "items": None} for i in range(400)]))
    pool.max_pages = 3
    try:
        with pytest.raises(pdf.RenderFailed, match="too many pages"):
            pool.render(many, title="t")
    finally:
        pool.max_pages = 40
    assert pool.pid == pid
    assert pool.render(_small_approval_html(), title="t")[0].startswith(b"%PDF-")


def test_pool_refuses_urls_like_the_in_process_renderer(pool):
    with pytest.raises(pdf.RenderFailed, match="refused URL"):
        pool.render('<html><body><img src="file:///etc/passwd"></body></html>', title="t")


def test_pool_wall_clock_limit():
    with RenderPool(cpu_seconds=60, memory_mb=600, wall_seconds=1.5, max_pages=None) as slow:
        slow.render("<p>warm</p>", title="t")  # the first render waits for start-up, not the wall limit
        html = helpers.render_template("pdf/receipt.html", **helpers.context(
            with_route=False, extra_rows=[{"label": f"行{i}", "value": "回答", "items": None} for i in range(3000)]))
        with pytest.raises(pdf.RenderFailed, match="wall-clock"):
            slow.render(html, title="t")
        assert slow.render("<p>next</p>", title="t")[0].startswith(b"%PDF-")


def test_pool_memory_limit():
    """A warm render process needs under 300 MB of address space; 340 MB leaves too little for 3,000 rows."""
    with RenderPool(cpu_seconds=120, memory_mb=340, wall_seconds=120, max_pages=None) as small:
        assert small.render("<p>小さな文書</p>", title="t")[0].startswith(b"%PDF-")
        rows = [{"label": f"行{i}", "value": "回答" * 20, "items": None} for i in range(3000)]
        html = helpers.render_template("pdf/receipt.html", **helpers.context(with_route=False, extra_rows=rows))
        with pytest.raises(pdf.RenderFailed, match="memory limit"):
            small.render(html, title="t")
        assert small.render("<p>次の文書</p>", title="t")[0].startswith(b"%PDF-")


def test_codes_in_the_document_match_the_qr(approval_pdf, write_pdf):
    ctx = approval_pdf[2]
    assert ctx["verify_url"].endswith("/verify/0123456789ABCDEF")
    assert codes.normalise_code(ctx["verification_code"]) == "0123456789ABCDEF"
    assert ctx["verification_code"] in pdftotext(write_pdf(approval_pdf[0]))
