"""Domain errors: a rule of the service refused an operation. No Flask imports.

Services raise these; ``app.http`` turns them into pages for people and JSON (with a code) under
``/api``. The message is safe to show: it never carries a value the person did not type themselves.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the service refused the operation; the message is safe to show."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotPermitted(DomainError):
    code = "not_permitted"
    status = 403


class Conflict(NotPermitted):
    """Someone else acted first (a double approval, a stale page)."""

    code = "conflict"
    status = 409


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InvalidTransition(DomainError):
    """The state table has no such move (``app.submissions.states.next_state`` raises it)."""

    code = "invalid_transition"
    status = 409


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422

    def __init__(self, message: str = "", *, errors: dict | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.errors = errors or {}
