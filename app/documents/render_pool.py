"""The render pool: one warm child process (WeasyPrint and the fonts loaded once) that renders one
request at a time under RLIMIT_CPU / RLIMIT_AS and a wall-clock timeout; a render that hits a limit
raises ``RenderFailed`` and the child is replaced. No Flask imports.

What it keeps warm (fonts, the parsed stylesheet) is each worker's own, whatever node it runs on: a
fresh worker only pays the warm-up once; it holds nothing another node would need.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
import types
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pydyf

from app.documents.errors import RenderFailed
from app.documents.pdf import Attachment, Box, _Renderer, _stylesheets, document_css

log = logging.getLogger(__name__)

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
            self._ctx.set_forkserver_preload(["weasyprint", "app.documents.render_pool"])
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
