"""The render pool: one warm child process (WeasyPrint and the fonts loaded once) that renders one
request at a time under RLIMIT_CPU / RLIMIT_AS and a wall-clock timeout (``app.limited_child``); a render
that hits a limit raises ``RenderFailed`` and the child is replaced. No Flask imports.

What it keeps warm (fonts, the parsed stylesheet) is each worker's own, whatever node it runs on: a
fresh worker only pays the warm-up once; it holds nothing another node would need.
"""

from __future__ import annotations

import shutil
import tempfile
import types
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pydyf

from app.documents.errors import RenderFailed
from app.documents.pdf import Attachment, Box, _Renderer, _stylesheets, document_css
from app.limited_child import LimitedChild

_WARM_UP_HTML = (
    '<html lang="ja"><body><p>受付番号 0123 申請書 ｱｲｳ ABC abc 令和</p>'
    '<p style="font-weight:bold">決裁 審査</p><div id="seal-x" style="width:10mm;height:10mm"></div></body></html>'
)


def _faster_stream_compression() -> None:
    """pydyf deflates every stream at level 9; level 6 is ~7 % faster per page for +1 % bytes.

    Only in the render child, which is ours alone; if pydyf stops using ``zlib`` this does nothing.
    """
    if getattr(pydyf, "zlib", None) is zlib:
        pydyf.zlib = types.SimpleNamespace(
            compress=zlib.compress,
            compressobj=lambda level=-1, *args, **kwargs: zlib.compressobj(min(level, 6), *args, **kwargs),
        )


class _RenderHandler:
    """In the child: the warm renderer; one request is ``(html, stylesheets, attachments, title, lang, max_pages)``."""

    def __init__(self, font_folder: str):
        _faster_stream_compression()
        self.font_folder = font_folder
        self.renderer = _Renderer(Path(font_folder))
        self.renderer.render(_WARM_UP_HTML, stylesheets=(document_css(),), attachments=(), title="warm-up",
                             lang="ja", max_pages=None, want_boxes=True)

    def __call__(self, request):
        html, stylesheets, attachments, title, lang, max_pages = request
        return self.renderer.render(html, stylesheets=stylesheets, attachments=attachments, title=title,
                                    lang=lang, max_pages=max_pages, want_boxes=True)

    def close(self) -> None:  # the parent removes the folder too, after a kill
        shutil.rmtree(self.font_folder, ignore_errors=True)


class RenderPool(LimitedChild):
    """One warm render process with limits; ``render`` is serialised and thread-safe.

    ``cpu_seconds`` and ``memory_mb`` (address space) are enforced in the child with setrlimit;
    ``wall_seconds`` in the parent. A render that hits a limit raises ``RenderFailed`` and the child is
    replaced (the new one starts at once, so the next render finds it warm). ``max_pages`` rejects a
    document that lays out to more pages before any PDF is written (a refusal: the child stays). The
    child is recycled after ``max_renders`` documents to bound any slow growth (font caches, fragmentation).
    """

    what = "renderer"
    failure = RenderFailed
    expected = (RenderFailed,)  # a refused URL, too many pages: the process is still sound
    preload = ("weasyprint", "app.documents.render_pool")

    def __init__(self, cpu_seconds: int = 20, memory_mb: int = 600, wall_seconds: float = 30, *,
                 max_pages: int | None = 60, max_renders: int = 500, start_method: str = "forkserver"):
        self.max_pages = max_pages
        self._font_folder: str | None = None
        super().__init__(cpu_seconds, memory_mb, wall_seconds, max_requests=max_renders, start_method=start_method)

    @staticmethod
    def start(font_folder: str) -> _RenderHandler:
        return _RenderHandler(font_folder)

    def start_args(self) -> tuple:
        self._font_folder = tempfile.mkdtemp(prefix="madoguchi-render-")
        return (self._font_folder,)

    def stopped(self) -> None:
        if self._font_folder:
            shutil.rmtree(self._font_folder, ignore_errors=True)
            self._font_folder = None

    def render(self, html: str, *, stylesheets: Sequence[str] | None = None, attachments: Iterable = (),
               title: str, lang: str = "ja") -> tuple[bytes, dict[str, Box]]:
        """PDF/A-3b bytes and the ``seal-*`` boxes (see ``seal_boxes``); ``RenderFailed`` on any limit.

        Arguments as for ``render_with_boxes``.
        """
        request = (html, _stylesheets(stylesheets), [tuple(Attachment(*a)) for a in attachments], title, lang,
                   self.max_pages)
        return self.call(request, doing="rendering")
