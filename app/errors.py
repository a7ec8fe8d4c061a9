"""Domain errors and the HTTP error handlers (HTML for people, JSON with a code under /api)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db


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


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422

    def __init__(self, message: str = "", *, errors: dict | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.errors = errors or {}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _http_message(status: int) -> str:
    messages = {
        400: _("リクエストの内容を確認できませんでした。もう一度お試しください。"),
        403: _("このページを表示する権限がありません。"),
        404: _("お探しのページは見つかりませんでした。"),
        405: _("この操作はできません。"),
        413: _("ファイルが大きすぎます。"),
        429: _(
            "短時間に操作が集中したため、しばらく受け付けを止めています。少し時間をおいてからもう一度お試しください。"
        ),
        500: _(
            "申し訳ありません。システムで問題が起きました。入力内容は保存されています。時間をおいてもう一度お試しください。"
        ),
    }
    return messages.get(status, _("エラーが発生しました。"))


def _respond(status: int, code: str, message: str, extra: dict | None = None):
    if _wants_json():
        body = {"error": {"code": code, "message": message, **(extra or {})}}
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        db.session.rollback()
        extra = {"errors": error.errors} if isinstance(error, ValidationFailed) and error.errors else None
        return _respond(error.status, error.code, error.message or _http_message(error.status), extra)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        # Pages that hold a resident's answers handle an expired token themselves (they re-show the
        # entries); anything else gets a plain explanation rather than a bare 400.
        return _respond(400, "csrf_failed", _("画面の有効期限が切れました。お手数ですが、もう一度操作してください。"))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        return _respond(status, _HTTP_CODES.get(status, "http_error"), _http_message(status))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _respond(500, "internal_error", _http_message(500))
