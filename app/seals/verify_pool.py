"""The verification child: uploaded PDFs are parsed and their seals validated by pyHanko in a child
process under a CPU, an address-space and a wall-clock limit (``app.limited_child``), never in a web
process. A file built to be expensive (an xref or content stream that inflates to gigabytes, a maze of
objects) costs at most those limits, then ``VerificationTooCostly``; the child is replaced and the web
process serves the next request. pyHanko is imported only in the child. No Flask imports.
"""

from __future__ import annotations

import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.limited_child import LimitedChild
from app.seals.reports import Report, VerificationTooCostly

#: A sealed document of a few pages is validated in about 0.3 s of CPU and 150 MB of address space
#: above the interpreter's; the limits leave room for ten times that, not for a bomb.
CPU_SECONDS = 5
MEMORY_MB = 700
WALL_SECONDS = 5.0


def _verify(request) -> Report:
    from app.seals.verify import verify_pdf  # pyHanko: only in this child

    pdf, roots, intermediates, crls, timestamp_roots = request
    load = x509.load_der_x509_certificate
    return verify_pdf(pdf, trust_roots=[load(c) for c in roots], intermediates=[load(c) for c in intermediates],
                      crls=list(crls), timestamp_roots=[load(c) for c in timestamp_roots])


def _start_verifier():
    import app.seals.verify  # noqa: F401 - the slow imports happen once, before the first request

    return _verify


class VerifyPool(LimitedChild):
    what = "verifier"
    failure = VerificationTooCostly
    preload = ("app.seals.verify",)

    def __init__(self, cpu_seconds: int = CPU_SECONDS, memory_mb: int = MEMORY_MB,
                 wall_seconds: float = WALL_SECONDS, **kwargs):
        super().__init__(cpu_seconds, memory_mb, wall_seconds, file_mb=16, **kwargs)

    start = staticmethod(_start_verifier)

    def verify(self, pdf: bytes, *, trust_roots: list[x509.Certificate], intermediates: list[x509.Certificate],
               crls: list[bytes], timestamp_roots: list[x509.Certificate]) -> Report:
        """``app.seals.verify.verify_pdf`` in the child; ``VerificationTooCostly`` when it hits a limit."""

        def der(certs):
            return [c.public_bytes(serialization.Encoding.DER) for c in certs]

        request = (pdf, der(trust_roots), der(intermediates), list(crls), der(timestamp_roots))
        return self.call(request, doing="verifying")


_pool: VerifyPool | None = None
_pool_lock = threading.Lock()


def verify_pool() -> VerifyPool:
    """This process's verification child, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = VerifyPool()
        return _pool
