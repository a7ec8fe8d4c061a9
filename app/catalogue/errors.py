"""The two ways catalogue input can be wrong: a resident's answer, or a definition file."""

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


class DefinitionError(ValueError):
    """A definition file that cannot be read; ``problems`` are ``"<place>: <message>"`` strings."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems
