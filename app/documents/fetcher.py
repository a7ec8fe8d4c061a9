"""The allow-list URL fetcher and the fonts of every printed document. No Flask imports.

Rule 6: no untrusted URL reaches WeasyPrint. ``AssetFetcher`` serves only the service's own assets
under the private ``madoguchi-asset:`` scheme (the Gothic font files and any CSS registered as a
string); every other URL (``file:``, ``http(s):``, ``data:``, relative paths) is refused and never
opened. A refusal stops the render: our templates never reference another URL, so one can only come
from a template bug or an injection, and both must fail loudly.

Text is set only in the fonts declared here (``FONT_FAMILY``: BIZ UD Gothic, then IPAex Gothic), whose
bytes come through the fetcher. Renders use an *isolated* fontconfig configuration that holds no system
font at all (``IsolatedFontConfiguration``), so nothing installed on the machine can be embedded,
whatever the input: a character neither font has prints as the font's empty box (.notdef) and stays
correct in the text layer and in the JSON attachment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cffi
from weasyprint.text import ffi as wp_text_ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

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


class AssetRefused(ValueError):
    """A URL outside the asset allow-list was requested."""


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
