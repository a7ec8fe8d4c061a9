"""Images of a document's pages, for the verification page: the holder of a fax or a printout compares
the paper with the original page by page (DESIGN "E-seals": verification shows what the document says).

No Flask imports. poppler's ``pdftoppm`` (as for fax rasters) renders each page to an 8-bit grey PNG,
wide enough to read on a phone and small enough to send: A4 at 110 dpi is 910 px wide. Only the
service's own stored documents are rendered here, never an uploaded file.
"""

from __future__ import annotations

from app.documents.rasterise import pdftoppm_pages

#: Pixels per inch: 11 pt text is about 17 px high, readable without zooming on a desktop screen.
DPI = 110
#: A document of more pages than this is not imaged (the render limits keep documents far smaller).
MAX_PAGES = 50


class PageImageError(Exception):
    """The PDF could not be rendered to images."""


def page_pngs(pdf: bytes, *, dpi: int = DPI) -> list[bytes]:
    """One grey PNG per page of ``pdf``, in page order."""
    with pdftoppm_pages(pdf, ["-png", "-gray", "-r", str(dpi), "-l", str(MAX_PAGES)], "png",
                        PageImageError) as files:
        return [path.read_bytes() for path in files]
