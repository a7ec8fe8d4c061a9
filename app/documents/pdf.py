"""HTML → PDF/A-3b with WeasyPrint, in this process: the renderer the render pool runs, and the
in-process renders of trusted templates (the fax cover, seal stamps). No Flask imports (DESIGN rule 9).

Every render goes through ``fetcher.AssetFetcher`` with the isolated fonts (rule 6). Submissions are
rendered in ``render_pool.RenderPool``, a child process with CPU, memory and time limits.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import weasyprint
from weasyprint.formatting_structure import boxes as wp_boxes
from weasyprint.urls import FatalURLFetchingError

from app.documents.errors import RenderFailed
from app.documents.fetcher import FONT_FACES_CSS, AssetFetcher, IsolatedFontConfiguration

PDF_VARIANT = "pdf/a-3b"

#: The stylesheet of printed documents (approval document, 受付控), applied by default to every render.
#: Passed as a parsed, cached stylesheet rather than inlined in the template: parsing it costs more
#: than laying out a page.
DOCUMENT_CSS_PATH = Path(__file__).resolve().parents[2] / "templates" / "pdf" / "print.css"
_document_css: str | None = None


def document_css() -> str:
    global _document_css
    if _document_css is None:
        _document_css = DOCUMENT_CSS_PATH.read_text(encoding="utf-8")
    return _document_css


CSS_PX_TO_PT = 0.75  # WeasyPrint lays out in CSS px (1/96 in); PDF points are 1/72 in.

#: (page index, (x1, y1, x2, y2)) in PDF points, origin at the bottom-left of the page.
Box = tuple[int, tuple[float, float, float, float]]


class Attachment(NamedTuple):
    """A file embedded in the PDF (PDF/A-3 associated file with AFRelationship /Data)."""

    name: str
    data: bytes
    mime: str = "application/json"
    description: str = "申請データ (JSON)"


class _Renderer:
    """Holds what is worth keeping across renders in one process: fetcher, fonts, parsed CSS."""

    def __init__(self, font_folder: Path | None = None):
        self.fetcher = AssetFetcher()
        if font_folder is None:
            font_folder = Path(tempfile.mkdtemp(prefix="madoguchi-fonts-"))
            atexit.register(shutil.rmtree, font_folder, True)
        self.font_config = IsolatedFontConfiguration(font_folder)
        self._css_cache: dict[str, weasyprint.CSS] = {}
        self._lock = threading.Lock()

    def _css(self, text: str) -> weasyprint.CSS:
        css = self._css_cache.get(text)
        if css is None:
            if len(self._css_cache) > 32:
                self._css_cache.clear()
            css = weasyprint.CSS(string=text, url_fetcher=self.fetcher, font_config=self.font_config)
            self._css_cache[text] = css
        return css

    def render(self, html: str, *, stylesheets: Sequence[str], attachments: Iterable, title: str,
               lang: str, max_pages: int | None, want_boxes: bool, pdf_variant: str | None = PDF_VARIANT
               ) -> tuple[bytes, dict[str, Box]]:
        with self._lock:
            refused_before = len(self.fetcher.refused)
            try:
                css = [self._css(FONT_FACES_CSS)] + [self._css(text) for text in stylesheets]
                document = weasyprint.HTML(string=html, base_url=None, url_fetcher=self.fetcher).render(
                    font_config=self.font_config, stylesheets=css, pdf_variant=pdf_variant)
                if max_pages is not None and len(document.pages) > max_pages:
                    raise RenderFailed(f"too many pages: {len(document.pages)} > {max_pages}")
                boxes = seal_boxes(document) if want_boxes else {}
                metadata = document.metadata
                metadata.title, metadata.lang = title, lang
                metadata.authors, metadata.keywords, metadata.description = [], [], None
                with warnings.catch_warnings():
                    # WeasyPrint 70 opens its sRGB profile for the PDF/A output intent and never closes it
                    warnings.filterwarnings("ignore", message=r"unclosed file .*sRGB2014\.icc",
                                            category=ResourceWarning)
                    pdf = document.write_pdf(
                        pdf_variant=pdf_variant,
                        attachments=[_weasy_attachment(Attachment(*a)) for a in attachments],
                        finisher=_dedupe_associated_files,
                    )
                # WeasyPrint logs and skips some refusals (an SVG's <image href>, fetched while drawing)
                # instead of failing: any URL refused during this render fails it, whoever swallowed it.
                if len(self.fetcher.refused) > refused_before:
                    raise RenderFailed(
                        f"refused URL outside the asset allow-list: {self.fetcher.refused[refused_before]!r}")
            except FatalURLFetchingError as exc:
                cause = exc.__cause__ or exc
                raise RenderFailed(str(cause)) from None
            return pdf, boxes


def _weasy_attachment(attachment: Attachment) -> weasyprint.Attachment:
    """A WeasyPrint attachment from bytes, with our MIME type (WeasyPrint would guess it from the name)."""
    result = weasyprint.Attachment(string=attachment.data, name=attachment.name,
                                   description=attachment.description, relationship="Data")

    @contextlib.contextmanager
    def source():
        yield io.BytesIO(attachment.data), None, None, attachment.mime

    result.source = source()
    return result


def _dedupe_associated_files(document, pdf) -> None:
    """WeasyPrint 70 lists each attachment twice in the catalog's /AF; once is right."""
    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


#: Element ids whose boxes a render reports: seal frames (signature fields) and printed answer values
#: (``value-<field name>``) and the receipt number (``doc-receipt-number``): the fax legibility tests
#: crop each printed value from the fax raster by these boxes.
BOX_PREFIXES = ("seal-", "value-", "doc-")


def seal_boxes(document, prefixes: tuple[str, ...] = BOX_PREFIXES) -> dict[str, Box]:
    """Content boxes of elements whose id starts with one of ``prefixes``, in PDF points from the bottom-left.

    The content box is the inside of the printed frame, where the seal imprint goes. An element split
    across pages keeps its first fragment (the templates forbid breaking inside a seal box).
    """
    found: dict[str, Box] = {}
    for index, page in enumerate(document.pages):
        page_height = page.height * CSS_PX_TO_PT
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            anchor = box.style["anchor"] if not isinstance(box, wp_boxes.TextBox) else None
            if isinstance(anchor, str) and anchor.startswith(prefixes) and anchor not in found:
                x, y = box.content_box_x(), box.content_box_y()
                found[anchor] = (index, (
                    round(x * CSS_PX_TO_PT, 3), round(page_height - (y + box.height) * CSS_PX_TO_PT, 3),
                    round((x + box.width) * CSS_PX_TO_PT, 3), round(page_height - y * CSS_PX_TO_PT, 3),
                ))
            stack.extend(reversed(list(box.all_children())))
    return found


def _stylesheets(stylesheets: Sequence[str] | None) -> tuple[str, ...]:
    if stylesheets is None:
        return (document_css(),)
    if isinstance(stylesheets, str):
        raise TypeError("stylesheets is a list of CSS strings")
    return tuple(stylesheets)


_renderer: _Renderer | None = None
_renderer_lock = threading.Lock()


def _local_renderer() -> _Renderer:
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = _Renderer()
        return _renderer


def render_with_boxes(html: str, *, stylesheets: Sequence[str] | None = None, attachments: Iterable = (),
                      title: str, lang: str = "ja", max_pages: int | None = None
                      ) -> tuple[bytes, dict[str, Box]]:
    """Render in this process: PDF/A-3b bytes and the ``seal-*`` and ``value-*`` boxes.

    ``stylesheets`` are CSS strings (never URLs); ``None`` means ``[document_css()]``. ``attachments``
    are ``Attachment`` values (or tuples of their fields: a ``(name, data)`` pair is JSON), embedded
    with AFRelationship /Data. Raises ``RenderFailed`` on a refused URL or too many pages.
    """
    return _local_renderer().render(html, stylesheets=_stylesheets(stylesheets), attachments=attachments, title=title,
                                    lang=lang, max_pages=max_pages, want_boxes=True)


def render_pdf(html: str, *, stylesheets: Sequence[str] | None = None, attachments: Iterable = (), title: str,
               lang: str = "ja") -> bytes:
    """Render in this process (no resource limits: use ``RenderPool`` for submissions)."""
    return _local_renderer().render(html, stylesheets=_stylesheets(stylesheets), attachments=attachments, title=title,
                                    lang=lang, max_pages=None, want_boxes=False)[0]


def render_plain_pdf(html: str, *, stylesheets: Sequence[str] = (), title: str = "") -> bytes:
    """A plain (not PDF/A) PDF with the same fetcher and fonts: seal stamp appearances for pyHanko."""
    return _local_renderer().render(html, stylesheets=stylesheets, attachments=(), title=title, lang="ja",
                                    max_pages=None, want_boxes=False, pdf_variant=None)[0]
