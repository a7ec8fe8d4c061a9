"""How rendering fails, importable without WeasyPrint (the worker's job handlers catch it)."""

from __future__ import annotations


class RenderFailed(Exception):
    """Rendering did not produce a document: a limit was hit, a URL was refused, or the renderer died."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
