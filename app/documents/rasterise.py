"""PDF pages as image files, by poppler's ``pdftoppm``: the fax raster and the verification page images.

Runs in a temporary folder of its own and hands the caller the page files in page order while the folder
exists. Every failure (poppler missing, a refused PDF, a timeout, no page) raises the caller's error class,
so each caller reports it in its own terms.
"""

from __future__ import annotations

import subprocess  # nosec B404
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

PDFTOPPM_TIMEOUT = 120


@contextmanager
def pdftoppm_pages(pdf: bytes, options: Sequence[str], suffix: str, error: type[Exception],
                   *, prefix: str = "madoguchi-pages-") -> Iterator[list[Path]]:
    """The page files ``pdftoppm options`` writes for ``pdf`` (``suffix``: ``png``, ``pgm``), in page order."""
    with tempfile.TemporaryDirectory(prefix=prefix) as temp:
        source = Path(temp) / "in.pdf"
        source.write_bytes(pdf)
        try:
            # bandit B603, B607: fixed program from PATH, argument list, our own temp files
            subprocess.run(["pdftoppm", *options, str(source), str(Path(temp) / "p")],  # nosec B603 B607
                           check=True, capture_output=True, timeout=PDFTOPPM_TIMEOUT)
        except FileNotFoundError:
            raise error("pdftoppm (poppler-utils) is not installed") from None
        except subprocess.CalledProcessError as exc:
            raise error(f"pdftoppm failed: {exc.stderr.decode(errors='replace').strip()[:300]}") from None
        except subprocess.TimeoutExpired:
            raise error("pdftoppm timed out") from None
        # p-1.png, p-2.png … zero-padded to the page count's width: a plain sort keeps page order
        files = sorted(Path(temp).glob(f"p-*.{suffix}"))
        if not files:
            raise error("pdftoppm produced no page")
        yield files
