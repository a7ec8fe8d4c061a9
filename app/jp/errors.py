"""How a resident's answer can be wrong."""

from __future__ import annotations


class InvalidValue(ValueError):
    """A resident's answer that cannot be accepted.

    ``code`` is stable (tests and the API match on it); ``message`` is a lazy, translatable sentence
    that says how to fix the answer. ``str()`` gives only the code, so logging the exception never
    writes the value (which may be a My Number).
    """

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message
