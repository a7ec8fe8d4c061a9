"""Images of a document's pages, for the verification page: the holder of a fax or a printout compares
the paper with the original page by page (DESIGN "E-seals": verification shows what the document says).

No Flask imports. poppler's ``pdftoppm`` (as for fax rasters) renders each page to an 8-bit grey PNG,
wide enough to read on a phone and small enough to send: A4 at 110 dpi is 910 px wide. Only the
service's own stored documents are rendered here, never an uploaded file.
"""

from __future__ import annotations

import subprocess  # nosec B404
import tempfile
from pathlib import Path

#: Pixels per inch: 11 pt text is about 17 px high, readable without zooming on a desktop screen.
DPI = 110
PDFTOPPM_TIMEOUT = 120
#: A document of more pages than this is not imaged (the render limits keep documents far smaller).
MAX_PAGES = 50


class PageImageError(Exception):
    """The PDF could not be rendered to images."""


def page_pngs(pdf: bytes, *, dpi: int = DPI) -> list[bytes]:
    """One grey PNG per page of ``pdf``, in page order."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-pages-") as temp:
        source = Path(temp) / "in.pdf"
        source.write_bytes(pdf)
        try:
            # bandit B603, B607: fixed program from PATH, argument list, our own temp files
            subprocess.run(["pdftoppm", "-png", "-gray", "-r", str(dpi), "-l", str(MAX_PAGES), str(source),
                            str(Path(temp) / "p")], check=True, capture_output=True, timeout=PDFTOPPM_TIMEOUT)  # nosec B603 B607
        except FileNotFoundError:
            raise PageImageError("pdftoppm (poppler-utils) is not installed") from None
        except subprocess.CalledProcessError as exc:
            raise PageImageError(f"pdftoppm failed: {exc.stderr.decode(errors='replace').strip()[:300]}") from None
        except subprocess.TimeoutExpired:
            raise PageImageError("pdftoppm timed out") from None
        # p-1.png, p-2.png … zero-padded to the page count's width: a plain sort keeps page order
        files = sorted(Path(temp).glob("p-*.png"))
        if not files:
            raise PageImageError("pdftoppm produced no page")
        return [path.read_bytes() for path in files]
