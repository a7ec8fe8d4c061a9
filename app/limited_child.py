"""A warm child process that does one request at a time under resource limits: the way the service runs
code that untrusted input can make expensive (rendering a document, parsing an uploaded PDF).

The child sets RLIMIT_AS (address space), RLIMIT_FSIZE and RLIMIT_CORE once, and before each request
RLIMIT_CPU to that much more CPU than it has used; the parent enforces a wall clock. A request that
hits a limit, crashes the child, or raises anything but the handler's expected errors ends the child:
the caller gets ``ChildFailed`` (or the subclass's error) with a reason, and a new child is started at
once, so the next request finds one warm. The parent never runs the handler's code, so it never loads
what the handler imports. No Flask imports.

A handler is made in the child by ``start(*args)`` (a module-level function, picklable by reference):
it does the slow imports and warm-up, and returns a callable ``handle(request) -> response``. If that
callable has a ``close()``, it is called when the child ends normally.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_EXIT_MEMORY, _EXIT_FAILED = 3, 4  # the child's exit status when it ends itself after a failed request


class ChildFailed(Exception):
    """A request hit a limit or broke the child; ``reason`` says which, in words for a log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def cpu_seconds_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def near_memory_limit(limit: int) -> bool:
    """Whether this process's peak address space came within 10 % of ``limit``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024 >= limit * 0.9
    except OSError:
        pass
    return False


def serve(conn, cpu_seconds: int, memory_bytes: int, file_bytes: int, start: Callable, start_args: tuple,
          expected: tuple[type[BaseException], ...]) -> None:
    """The child's life: limits, ``start``, then one request at a time until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU must not leave core files behind
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    try:
        handle = start(*start_args)
        # Objects alive now (modules, fonts, parsed CSS) never become garbage: keep the collector off
        # them, and let it run seldom during a request; it runs fully between requests instead.
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 1000)
        conn.send(("ready", os.getpid()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises ChildFailed
        conn.send(("error", f"failed to start: {type(exc).__name__}: {exc}"))
        return
    try:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return
            if request is None:
                return
            # RLIMIT_CPU counts the process's whole life: allow cpu_seconds more than used so far.
            # At the soft limit the kernel sends SIGXCPU, whose default action ends this process.
            soft = int(cpu_seconds_used()) + 1 + cpu_seconds
            if cpu_hard != resource.RLIM_INFINITY:
                soft = min(soft, cpu_hard)
            resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
            try:
                response = handle(request)
            except expected as exc:  # the input was refused: this process is still sound
                conn.send(("error", getattr(exc, "reason", None) or str(exc)))
                continue
            except BaseException as exc:  # noqa: BLE001 - anything else may have left C state broken: end
                memory = isinstance(exc, MemoryError) or near_memory_limit(memory_bytes)
                reason = (f"memory limit reached ({type(exc).__name__})" if memory
                          else f"failed: {type(exc).__name__}: {exc}"[:500])
                with contextlib.suppress(BaseException):  # may itself fail for want of memory
                    conn.send(("fatal", reason))
                os._exit(_EXIT_MEMORY if memory else _EXIT_FAILED)
            conn.send(("ok", response))
            del response
            gc.collect()  # while the parent uses the result
    finally:
        close = getattr(handle, "close", None)
        if close is not None:
            close()


def death_reason(exitcode: int | None, what: str = "child") -> str:
    if exitcode is None:
        return f"{what} stopped answering"
    if exitcode == -signal.SIGXCPU:
        return "CPU time limit reached"
    if exitcode == -signal.SIGKILL:
        return f"{what} killed (memory exhausted or killed from outside)"
    if exitcode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        return f"{what} crashed (signal {-exitcode}; most likely the memory limit)"
    if exitcode < 0:
        return f"{what} ended by signal {-exitcode}"
    if exitcode == _EXIT_MEMORY:
        return "memory limit reached"
    if exitcode == _EXIT_FAILED:
        return f"{what} failed (internal error)"
    return f"{what} exited with status {exitcode}"


class LimitedChild:
    """One warm child process with limits; ``call`` is serialised and thread-safe.

    Subclasses name the handler: ``start`` (module-level) and ``start_args()``; ``expected`` are the
    handler's refusals that leave the child sound; ``failure`` is the exception class raised (made with
    the reason); ``what`` names the child in reasons. ``cpu_seconds`` and ``memory_mb`` are enforced
    in the child, ``wall_seconds`` in the parent; the child is recycled after ``max_requests``.
    """

    what = "child"
    failure: type[Exception] = ChildFailed
    expected: tuple[type[BaseException], ...] = ()
    preload: tuple[str, ...] = ()
    #: How long the first request may wait for the child to start (imports, warm-up).
    start_seconds = 30.0

    def __init__(self, cpu_seconds: int, memory_mb: int, wall_seconds: float, *, max_requests: int = 500,
                 file_mb: int = 256, start_method: str = "forkserver"):
        self.cpu_seconds = int(cpu_seconds)
        self.memory_bytes = int(memory_mb) << 20
        self.file_bytes = int(file_mb) << 20
        self.wall_seconds = float(wall_seconds)
        self.max_requests = max_requests
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver" and self.preload:
            # Children fork from a server that has the handler's modules imported already (ignored if
            # the forkserver of this process is running already).
            self._ctx.set_forkserver_preload(list(self.preload))
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._ready = False
        self._requests = 0
        self._closed = False
        self._start()

    # -- what a subclass says

    @staticmethod
    def start(*args) -> Callable[[Any], Any]:
        raise NotImplementedError

    def start_args(self) -> tuple:
        return ()

    def stopped(self) -> None:
        """Called in the parent after a child ended (clean up what ``start_args`` made)."""

    # -- process management

    def _start(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(
            target=serve,
            args=(child_conn, self.cpu_seconds, self.memory_bytes, self.file_bytes, type(self).start,
                  self.start_args(), self.expected),
            name=f"madoguchi-{self.what}", daemon=True)
        try:
            proc.start()
        except BaseException:
            self.stopped()
            raise
        child_conn.close()
        self._proc, self._conn, self._ready, self._requests = proc, parent_conn, False, 0

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
        self.stopped()

    def _fail(self, reason: str) -> Exception:
        log.warning("%s process %s replaced: %s", self.what, self.pid, reason)
        self._stop()
        if not self._closed:
            self._start()
        return self.failure(reason)

    def _receive(self, timeout: float, doing: str):
        proc, conn = self._proc, self._conn
        if not conn.poll(timeout):
            if not proc.is_alive():
                proc.join(1)
                raise self._fail(death_reason(proc.exitcode, self.what))
            raise self._fail(f"wall-clock limit of {timeout:g} s reached while {doing}")
        try:
            return conn.recv()
        except (EOFError, OSError):
            proc.join(5)
            raise self._fail(death_reason(proc.exitcode, self.what)) from None

    def _ensure_ready(self) -> None:
        if self._proc is None or not self._proc.is_alive():
            self._stop()
            self._start()
        if not self._ready:
            message = self._receive(max(self.wall_seconds, self.start_seconds), f"starting the {self.what}")
            if message[0] != "ready":
                raise self._fail(message[1])
            self._ready = True

    # -- API

    def call(self, request, *, doing: str = "working"):
        """Send ``request`` to the child and return its response; the failure class on any limit."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.what} pool is closed")
            self._ensure_ready()
            try:
                self._conn.send(request)
            except (OSError, ValueError):
                raise self._fail(death_reason(self._proc.exitcode, self.what)) from None
            message = self._receive(self.wall_seconds, doing)
            status = message[0]
            if status == "fatal":
                raise self._fail(message[1])
            if status == "error":
                raise self.failure(message[1])
            self._requests += 1
            if self._requests >= self.max_requests:
                self._stop(graceful=True)
                self._start()
            return message[1]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop(graceful=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
