"""HTML → PDF/A-3b with WeasyPrint, an allow-list URL fetcher and a resource-limited render process.

No Flask imports (DESIGN rule 9). Rule 6: no untrusted URL reaches WeasyPrint. ``AssetFetcher`` serves
only the service's own assets under the private ``madoguchi-asset:`` scheme (the Gothic font files and
any CSS registered as a string); every other URL (``file:``, ``http(s):``, ``data:``, relative paths) is
refused and never opened. A refusal stops the render (``RenderFailed``): our templates never reference
another URL, so one can only come from a template bug or an injection, and both must fail loudly.

Text is set only in the fonts declared here (``FONT_FAMILY``: BIZ UD Gothic, then IPAex Gothic), whose
bytes come through the fetcher. Renders use an *isolated* fontconfig configuration that holds no system
font at all, so nothing installed on the machine can be embedded, whatever the input: a character
neither font has (an emoji, a rare kanji outside both fonts) prints as the font's empty box (.notdef)
and stays correct in the text layer and in the JSON attachment.

``RenderPool`` keeps one warm child process (WeasyPrint and the fonts loaded once) that renders one
request at a time under RLIMIT_CPU / RLIMIT_AS and a wall-clock timeout; a render that hits a limit
raises ``RenderFailed`` and the child is replaced.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
import types
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import cffi
import weasyprint
from weasyprint.formatting_structure import boxes as wp_boxes
from weasyprint.text import ffi as wp_text_ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

ASSET_SCHEME = "madoguchi-asset"
PDF_VARIANT = "pdf/a-3b"
#: The CSS font-family every printed template uses. Private names: nothing installed on the system can
#: answer to them, so the glyphs always come from the allow-listed files below.
FONT_FAMILY = '"Madoguchi BIZ UDGothic", "Madoguchi IPAexGothic"'

#: Allow-listed font assets: asset name → candidate files (Debian packages installed by scripts/setup).
FONT_FILES: dict[str, tuple[str, ...]] = {
    "fonts/BIZUDGothic-Regular.ttf": ("/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf",),
    "fonts/BIZUDGothic-Bold.ttf": ("/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Bold.ttf",),
    "fonts/ipaexg.ttf": (
        "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    ),
    # Codes read back from a fax (the receipt number): a monospaced Latin face whose 5, 9 and Q stay
    # apart at 98 lpi, where BIZ UD Gothic's 5 was dropped or read as 9 (tests/documents/test_fax_legibility.py).
    "fonts/LiberationMono-Bold.ttf": ("/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",),
}

#: @font-face rules for FONT_FAMILY, applied to every render before the template's own CSS.
FONT_FACES_CSS = f"""
@font-face {{ font-family: "Madoguchi BIZ UDGothic"; font-weight: 400;
  src: url({ASSET_SCHEME}:fonts/BIZUDGothic-Regular.ttf); }}
@font-face {{ font-family: "Madoguchi BIZ UDGothic"; font-weight: 700;
  src: url({ASSET_SCHEME}:fonts/BIZUDGothic-Bold.ttf); }}
@font-face {{ font-family: "Madoguchi IPAexGothic"; font-weight: 400;
  src: url({ASSET_SCHEME}:fonts/ipaexg.ttf); }}
@font-face {{ font-family: "Madoguchi Code"; font-weight: 700;
  src: url({ASSET_SCHEME}:fonts/LiberationMono-Bold.ttf); }}
html {{ font-family: {FONT_FAMILY}; color: #000; }}
"""

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


class RenderFailed(Exception):
    """Rendering did not produce a document: a limit was hit, a URL was refused, or the renderer died."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AssetRefused(ValueError):
    """A URL outside the asset allow-list was requested."""


class Attachment(NamedTuple):
    """A file embedded in the PDF (PDF/A-3 associated file with AFRelationship /Data)."""

    name: str
    data: bytes
    mime: str = "application/json"
    description: str = "申請データ (JSON)"


# ---- the fetcher --------------------------------------------------------------------------------------


def _read_font(name: str) -> bytes:
    for candidate in FONT_FILES[name]:
        path = Path(candidate)
        if path.is_file():
            return path.read_bytes()
    raise AssetRefused(f"font asset {name!r} is not installed (looked in {', '.join(FONT_FILES[name])})")


class AssetFetcher(URLFetcher):
    """Serve only ``madoguchi-asset:<name>`` for allow-listed names; refuse everything else.

    ``css`` maps extra asset names (e.g. ``"print.css"``) to CSS text. Fonts come from ``FONT_FILES``.
    Nothing is ever opened through urllib: ``fetch`` is overridden entirely, no protocol is allowed and
    redirects are off, so even a call that slipped past ``fetch`` would be refused by the base class.
    """

    _font_cache: dict[str, bytes] = {}  # shared by all fetchers in a process: the files never change

    def __init__(self, css: Mapping[str, str] | None = None, *, fail_on_errors: bool = True):
        super().__init__(timeout=1, allowed_protocols=frozenset(), allow_redirects=False,
                         fail_on_errors=fail_on_errors)
        self._css = dict(css or {})
        self.refused: list[str] = []
        self.served: list[str] = []

    def asset_names(self) -> set[str]:
        return set(FONT_FILES) | set(self._css)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        prefix = f"{ASSET_SCHEME}:"
        name = url[len(prefix):] if isinstance(url, str) and url.startswith(prefix) else None
        if name in self._css:
            self.served.append(url)
            return URLFetcherResponse(url, self._css[name].encode(), {"Content-Type": "text/css; charset=utf-8"})
        if name in FONT_FILES:
            data = self._font_cache.get(name)
            if data is None:
                data = self._font_cache.setdefault(name, _read_font(name))
            self.served.append(url)
            return URLFetcherResponse(url, data, {"Content-Type": "font/ttf"})
        self.refused.append(str(url)[:200])
        raise AssetRefused(f"refused URL outside the asset allow-list: {str(url)[:200]!r}")


# ---- fonts: only ours -----------------------------------------------------------------------------------

_fc_ffi = cffi.FFI()
_fc_ffi.cdef("typedef struct _FcConfig FcConfig; FcConfig * FcConfigCreate (void);")
_fc_lib = None


def _empty_fc_config():
    """A new fontconfig configuration with no configuration file read and no font directory scanned."""
    global _fc_lib
    if _fc_lib is None:
        for name in ("libfontconfig.so.1", "libfontconfig-1", "fontconfig-1", "fontconfig",
                     "libfontconfig.1.dylib"):
            try:
                _fc_lib = _fc_ffi.dlopen(name)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("fontconfig library not found")
    config = _fc_lib.FcConfigCreate()
    if config == _fc_ffi.NULL:
        raise MemoryError("FcConfigCreate failed")
    return wp_text_ffi.ffi.cast("FcConfig *", int(_fc_ffi.cast("uintptr_t", config)))


class IsolatedFontConfiguration(FontConfiguration):
    """WeasyPrint's ``FontConfiguration`` on an empty fontconfig: only ``@font-face`` fonts exist.

    Mirrors ``FontConfiguration.__init__`` (WeasyPrint 70) with ``FcConfigCreate`` in place of
    ``FcInitLoadConfigAndFonts``; ``add_font_face`` then adds our files as application fonts.
    tests/documents checks with ``pdffonts`` that nothing else is ever embedded.
    """

    def __init__(self, folder: Path | None = None):
        ffi, pangoft2, gobject = wp_text_ffi.ffi, wp_text_ffi.pangoft2, wp_text_ffi.gobject
        self._config = _empty_fc_config()
        self.font_map = ffi.gc(pangoft2.pango_ft2_font_map_new(), gobject.g_object_unref)
        pangoft2.pango_fc_font_map_set_config(ffi.cast("PangoFcFontMap *", self.font_map), self._config)
        wp_text_ffi.fontconfig.FcConfigDestroy(self._config)  # the font map holds its own reference
        # WeasyPrint copies @font-face files into this folder for fontconfig. Left to itself it makes a
        # fresh temporary one that a killed render process never removes (~15 MB each); the pool hands
        # each child a folder it removes itself once the child is gone.
        self._folder = folder
        self.strut_layouts = {}
        self.font_features = {}


# ---- in-process rendering --------------------------------------------------------------------------------


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


# ---- the render pool -----------------------------------------------------------------------------------

_WARM_UP_HTML = (
    '<html lang="ja"><body><p>受付番号 0123 申請書 ｱｲｳ ABC abc 令和</p>'
    '<p style="font-weight:bold">決裁 審査</p><div id="seal-x" style="width:10mm;height:10mm"></div></body></html>'
)


_EXIT_MEMORY, _EXIT_FAILED = 3, 4  # the child's exit status when it ends itself after a failed render


def _cpu_seconds_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _near_memory_limit(limit: int) -> bool:
    """Whether this process's peak address space came within 10 % of ``limit``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024 >= limit * 0.9
    except OSError:
        pass
    return False


def _child_main(conn, cpu_seconds: int, memory_bytes: int, font_folder: str) -> None:
    """The render process: limits, warm-up, then one request at a time until told to stop."""
    try:
        _serve(conn, cpu_seconds, memory_bytes, font_folder)
    finally:  # the parent removes the folder too, after a kill
        shutil.rmtree(font_folder, ignore_errors=True)


def _faster_stream_compression() -> None:
    """pydyf deflates every stream at level 9; level 6 is ~7 % faster per page for +1 % bytes.

    Only in the render child, which is ours alone; if pydyf stops using ``zlib`` this does nothing.
    """
    import zlib

    import pydyf

    if getattr(pydyf, "zlib", None) is zlib:
        pydyf.zlib = types.SimpleNamespace(
            compress=zlib.compress,
            compressobj=lambda level=-1, *args, **kwargs: zlib.compressobj(min(level, 6), *args, **kwargs),
        )


def _serve(conn, cpu_seconds: int, memory_bytes: int, font_folder: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    _faster_stream_compression()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU must not leave core files behind
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    renderer = _Renderer(Path(font_folder))
    try:
        renderer.render(_WARM_UP_HTML, stylesheets=(document_css(),), attachments=(), title="warm-up",
                        lang="ja", max_pages=None, want_boxes=True)
        # Objects alive now (modules, fonts, parsed CSS) never become garbage: keep the collector off
        # them, and let it run seldom during a render; it runs fully between renders instead.
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 1000)
        conn.send(("ready", os.getpid()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises RenderFailed
        conn.send(("error", f"renderer failed to start: {type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        html, stylesheets, attachments, title, lang, max_pages = request
        # RLIMIT_CPU counts the process's whole life: allow cpu_seconds more than used so far.
        # At the soft limit the kernel sends SIGXCPU, whose default action ends this process.
        soft = int(_cpu_seconds_used()) + 1 + cpu_seconds
        if cpu_hard != resource.RLIM_INFINITY:
            soft = min(soft, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        try:
            pdf, boxes = renderer.render(html, stylesheets=stylesheets, attachments=attachments, title=title,
                                         lang=lang, max_pages=max_pages, want_boxes=True)
        except RenderFailed as exc:  # a refused URL, too many pages: this process is still sound
            conn.send(("error", exc.reason))
            continue
        except BaseException as exc:  # noqa: BLE001 - anything else may have left C state broken: end
            memory = isinstance(exc, MemoryError) or _near_memory_limit(memory_bytes)
            reason = (f"memory limit reached ({type(exc).__name__})" if memory
                      else f"renderer failed: {type(exc).__name__}: {exc}"[:500])
            with contextlib.suppress(BaseException):  # may itself fail for want of memory
                conn.send(("fatal", reason))
            os._exit(_EXIT_MEMORY if memory else _EXIT_FAILED)
        conn.send(("ok", pdf, boxes))
        del pdf, boxes
        gc.collect()  # while the parent stores the result


def _death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "renderer stopped answering"
    if exitcode == -signal.SIGXCPU:
        return "CPU time limit reached"
    if exitcode == -signal.SIGKILL:
        return "renderer killed (memory exhausted or killed from outside)"
    if exitcode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        return f"renderer crashed (signal {-exitcode}; most likely the memory limit)"
    if exitcode < 0:
        return f"renderer ended by signal {-exitcode}"
    if exitcode == _EXIT_MEMORY:
        return "memory limit reached"
    if exitcode == _EXIT_FAILED:
        return "renderer failed (internal error)"
    return f"renderer exited with status {exitcode}"


class RenderPool:
    """One warm render process with limits; ``render`` is serialised and thread-safe.

    ``cpu_seconds`` and ``memory_mb`` (address space) are enforced in the child with setrlimit;
    ``wall_seconds`` in the parent. A render that hits a limit raises ``RenderFailed`` and the child is
    replaced (the new one starts at once, so the next render finds it warm). ``max_pages`` rejects a
    document that lays out to more pages before any PDF is written. The child is recycled after
    ``max_renders`` documents to bound any slow growth (font caches, fragmentation).
    """

    def __init__(self, cpu_seconds: int = 20, memory_mb: int = 600, wall_seconds: float = 30, *,
                 max_pages: int | None = 60, max_renders: int = 500, start_method: str = "forkserver"):
        self.cpu_seconds = int(cpu_seconds)
        self.memory_bytes = int(memory_mb) << 20
        self.wall_seconds = float(wall_seconds)
        self.max_pages = max_pages
        self.max_renders = max_renders
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # Children fork from a server that has WeasyPrint imported already (ignored if the
            # forkserver of this process is running already).
            self._ctx.set_forkserver_preload(["weasyprint", "app.documents.pdf"])
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._font_folder: str | None = None
        self._ready = False
        self._renders = 0
        self._closed = False
        self._start()

    # -- process management

    def _start(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        font_folder = tempfile.mkdtemp(prefix="madoguchi-render-")
        proc = self._ctx.Process(target=_child_main,
                                 args=(child_conn, self.cpu_seconds, self.memory_bytes, font_folder),
                                 name="madoguchi-render", daemon=True)
        try:
            proc.start()
        except BaseException:
            shutil.rmtree(font_folder, ignore_errors=True)
            raise
        child_conn.close()
        self._proc, self._conn, self._ready, self._renders = proc, parent_conn, False, 0
        self._font_folder = font_folder

    def _stop(self, *, graceful: bool = False) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        self._ready = False
        if proc is None:
            return
        if graceful and proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            proc.join(2)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        with contextlib.suppress(OSError):
            conn.close()
        with contextlib.suppress(ValueError, AttributeError):
            proc.close()
        if self._font_folder:
            shutil.rmtree(self._font_folder, ignore_errors=True)
            self._font_folder = None

    def _fail(self, reason: str) -> RenderFailed:
        log.warning("render process %s replaced: %s", self.pid, reason)
        self._stop()
        if not self._closed:
            self._start()
        return RenderFailed(reason)

    def _receive(self, timeout: float, what: str):
        proc, conn = self._proc, self._conn
        if not conn.poll(timeout):
            if not proc.is_alive():
                proc.join(1)
                raise self._fail(_death_reason(proc.exitcode))
            raise self._fail(f"wall-clock limit of {timeout:g} s reached while {what}")
        try:
            return conn.recv()
        except (EOFError, OSError):
            proc.join(5)
            raise self._fail(_death_reason(proc.exitcode)) from None

    def _ensure_ready(self) -> None:
        if self._proc is None or not self._proc.is_alive():
            self._stop()
            self._start()
        if not self._ready:
            message = self._receive(max(self.wall_seconds, 30.0), "starting the renderer")
            if message[0] != "ready":
                raise self._fail(message[1])
            self._ready = True

    # -- API

    def render(self, html: str, *, stylesheets: Sequence[str] | None = None, attachments: Iterable = (),
               title: str, lang: str = "ja") -> tuple[bytes, dict[str, Box]]:
        """PDF/A-3b bytes and the ``seal-*`` boxes (see ``seal_boxes``); ``RenderFailed`` on any limit.

        Arguments as for ``render_with_boxes``.
        """
        request = (html, _stylesheets(stylesheets), [tuple(Attachment(*a)) for a in attachments], title, lang,
                   self.max_pages)
        with self._lock:
            if self._closed:
                raise RuntimeError("render pool is closed")
            self._ensure_ready()
            try:
                self._conn.send(request)
            except (OSError, ValueError):
                raise self._fail(_death_reason(self._proc.exitcode)) from None
            message = self._receive(self.wall_seconds, "rendering")
            status = message[0]
            if status == "fatal":
                raise self._fail(message[1])
            if status == "error":
                raise RenderFailed(message[1])
            self._renders += 1
            if self._renders >= self.max_renders:
                self._stop(graceful=True)
                self._start()
            return message[1], message[2]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop(graceful=True)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
