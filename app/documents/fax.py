"""Fax rasters made by the service itself: TIFF Class F from a PDF (DESIGN "Legacy-compatible output").

No Flask imports. ``rasterise`` turns a PDF into 1-bit pages 1728 px wide at 204×196 dpi ("fine") or
204×98 dpi ("standard") with poppler's ``pdftoppm`` (8-bit grey, then a threshold per resolution: text is never
dithered); ``tiff_class_f`` writes one multi-page TIFF (1 bit, WhiteIsZero, G3 1-D MH or G4, one strip
per page, FillOrder 1, resolution in inches); ``compose`` does both for a cover sheet followed by the
document. The PDF is only read here, never changed: faxing a sealed document re-uses its stored bytes.
"""

from __future__ import annotations

import io
import struct

# bandit B404: poppler's pdfinfo, an argument list only (below)
import subprocess  # nosec B404
import tempfile
from collections.abc import Sequence

from PIL import Image, TiffImagePlugin

from app.documents.rasterise import pdftoppm_pages

#: The ITU-T T.4 scan line: 1728 picture elements over 215 mm.
FAX_WIDTH = 1728
X_DPI = 204
Y_DPI = {"fine": 196, "standard": 98}
COMPRESSIONS = {"g3": ("group3", 3), "g4": ("group4", 4)}
#: Grey level below which a pixel turns black (0 black … 255 white), per resolution. At 196 lpi a
#: dense kanji's strokes are only 2–3 px: counting the lighter anti-aliased edge as ink keeps each
#: stroke its full weight (at the middle grey, 就 lost strokes and read as 各). At 98 lpi the same dark
#: threshold merges strokes, since each row covers twice the height, so standard stays at the middle.
#: Measured with tesseract on every demo form (tests/documents/test_fax_legibility.py): fine passes
#: at 180–192 and fails at ≤ 176 or ≥ 200; 186 is the middle of that range.
THRESHOLDS = {"fine": 186, "standard": 128}

# TIFF tags written (baseline and Class F, RFC 2306)
NEW_SUBFILE_TYPE, PHOTOMETRIC, FILL_ORDER, ROWS_PER_STRIP = 254, 262, 266, 278
T4_OPTIONS, T6_OPTIONS, PAGE_NUMBER = 292, 293, 297


class FaxError(Exception):
    """The PDF could not be rasterised (not a PDF, or poppler failed)."""


def y_dpi(resolution: str) -> int:
    try:
        return Y_DPI[resolution]
    except KeyError:
        raise ValueError(f"resolution must be one of {', '.join(Y_DPI)}, not {resolution!r}") from None


def _threshold_table(resolution: str) -> list[int]:
    threshold = THRESHOLDS[resolution]
    return [0 if value < threshold else 255 for value in range(256)]


def to_fax_width(page: Image.Image, resolution: str = "fine") -> Image.Image:
    """A 1-bit page on a white canvas exactly 1728 px wide: centred (A4 is ~1687 px), or centre-cropped.

    A grey page is thresholded for ``resolution`` first."""
    if page.mode != "1":
        page = page.point(_threshold_table(resolution), mode="1")
    width, height = page.size
    if width == FAX_WIDTH:
        return page
    if width > FAX_WIDTH:
        left = (width - FAX_WIDTH) // 2
        return page.crop((left, 0, left + FAX_WIDTH, height))
    canvas = Image.new("1", (FAX_WIDTH, height), 255)
    canvas.paste(page, ((FAX_WIDTH - width) // 2, 0))
    return canvas


def rasterise(pdf: bytes, *, resolution: str = "fine") -> list[Image.Image]:
    """Every page of ``pdf`` as a 1-bit image (mode "1": 0 black, 255 white), 1728 px wide.

    Pixels are 204 dpi across and 196 (fine) or 98 (standard) dpi down, as a fax machine scans them:
    a standard page is half as tall in pixels (see ``as_printed``).
    """
    ry = y_dpi(resolution)
    with pdftoppm_pages(pdf, ["-gray", "-rx", str(X_DPI), "-ry", str(ry), "-thinlinemode", "solid"], "pgm",
                        FaxError, prefix="madoguchi-fax-") as files:
        pages = []
        for path in files:
            with Image.open(path) as grey:
                pages.append(to_fax_width(grey.convert("L"), resolution))
        return pages


def as_printed(page: Image.Image, resolution: str) -> Image.Image:
    """The page as the receiving machine prints it: standard-resolution rows are printed twice."""
    if y_dpi(resolution) == Y_DPI["fine"]:
        return page
    return page.resize((page.width, page.height * 2), Image.Resampling.NEAREST)


def tiff_class_f(pages: Sequence[Image.Image], *, resolution: str = "fine", compression: str = "g4") -> bytes:
    """One multi-page TIFF Class F: 1 bit, WhiteIsZero, 1728 px, 204 × 196|98 dpi, G3 (MH 1-D) or G4."""
    if not pages:
        raise ValueError("no pages")
    ry = y_dpi(resolution)
    try:
        pillow_compression, _tag = COMPRESSIONS[compression]
    except KeyError:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {compression!r}") from None
    out = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(out) as writer:
        for number, page in enumerate(pages):
            page = to_fax_width(page, resolution)
            # WhiteIsZero: a 1 bit is black. Pillow writes mode "1" as BlackIsZero (and its own
            # WhiteIsZero path inverts pixel by pixel in Python), so invert here, write BlackIsZero and
            # relabel the IFD afterwards (_set_white_is_zero): the coded runs are then the usual fax
            # ones (0 = white), which is what a viewer honouring tag 262 = 0 shows as black on white.
            inverted = page.point(lambda v: 255 - v)  # mode "1" stays "1"
            info = {
                NEW_SUBFILE_TYPE: 2,  # a single page of a multi-page image
                FILL_ORDER: 1,
                ROWS_PER_STRIP: page.height,  # one strip per page
                PAGE_NUMBER: (number, len(pages)),
            }
            if compression == "g3":
                info[T4_OPTIONS] = 0  # 1-D modified Huffman, no fill bits
            else:
                info[T6_OPTIONS] = 0
            inverted.save(writer, format="TIFF", compression=pillow_compression, dpi=(X_DPI, ry),
                          tiffinfo=info)
            writer.newFrame()
    return _fix_directories(out.getvalue())


def _fix_directories(data: bytes) -> bytes:
    """In every IFD of our classic TIFF: PhotometricInterpretation 1 → 0, and PageNumber = (n, total).

    Pillow hands PageNumber to libtiff in a way that stores garbage as the page total, so both values
    are written here, in the two SHORTs held inside the entry.
    """
    buffer = bytearray(data)
    order = {b"II": "<", b"MM": ">"}[bytes(buffer[:2])]
    if struct.unpack_from(order + "H", buffer, 2)[0] != 42:
        raise ValueError("not a classic TIFF")
    offset = struct.unpack_from(order + "I", buffer, 4)[0]
    offsets = []
    while offset and offset not in offsets:
        offsets.append(offset)
        (count,) = struct.unpack_from(order + "H", buffer, offset)
        (offset,) = struct.unpack_from(order + "I", buffer, offset + 2 + 12 * count)
    for number, offset in enumerate(offsets):
        (count,) = struct.unpack_from(order + "H", buffer, offset)
        for index in range(count):
            entry = offset + 2 + 12 * index
            tag, kind, values = struct.unpack_from(order + "HHI", buffer, entry)
            if tag == PHOTOMETRIC:
                if kind != 3 or values != 1:
                    raise ValueError("unexpected PhotometricInterpretation entry")
                struct.pack_into(order + "H", buffer, entry + 8, 0)
            elif tag == PAGE_NUMBER:
                if kind != 3 or values != 2:
                    raise ValueError("unexpected PageNumber entry")
                struct.pack_into(order + "HH", buffer, entry + 8, number, len(offsets))
    return bytes(buffer)


def read_tiff(data: bytes) -> list[tuple[Image.Image, dict]]:
    """Each page of a TIFF as (mode "1" image, black text on white, tags): for checks and previews."""
    result = []
    with Image.open(io.BytesIO(data)) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            tags = dict(image.tag_v2)
            page = image.convert("1")
            result.append((page, tags))
    return result


def page_count(pdf: bytes) -> int:
    """Pages in a PDF (poppler's ``pdfinfo``)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as temp:
        temp.write(pdf)
        temp.flush()
        try:
            # bandit B603, B607: fixed program, argument list
            out = subprocess.run(["pdfinfo", temp.name],  # nosec B603 B607
                                 check=True, capture_output=True, timeout=60).stdout
        except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise FaxError(f"pdfinfo failed: {exc}") from None
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise FaxError("pdfinfo printed no page count")


def compose(cover_pdf: bytes, document_pdf: bytes, *, resolution: str = "fine", compression: str = "g4") -> bytes:
    """The fax to send: the cover sheet's page(s) first, then every page of the document, as TIFF-F."""
    pages = rasterise(cover_pdf, resolution=resolution) + rasterise(document_pdf, resolution=resolution)
    return tiff_class_f(pages, resolution=resolution, compression=compression)
