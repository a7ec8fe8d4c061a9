"""The HTTP edge shared by every blueprint: the request's one commit, error pages and JSON errors,
security headers, safe redirects.

One unit of work per request (DESIGN rule 1): views and services flush; ``commit_request`` commits
once, after the view returned its response. Domain errors (``app.errors``) become a page for people and
``{"error": {"code", "message"}}`` under ``/api``; every error handler rolls the request's transaction
back first, so nothing a refused request flushed reaches that commit, and a commit that fails becomes
a 500 page rather than a success that was never stored.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import security_log
from app.errors import DomainError, ValidationFailed
from app.extensions import db


def upload_limit(max_bytes: int):
    """A view whose request body may be at most ``max_bytes`` (less than MAX_CONTENT_LENGTH): a larger
    one is refused with 413 before anything, CSRF included, reads it (``register_upload_limits``)."""

    def decorator(view):
        view.max_content_length = max_bytes
        return view

    return decorator


def register_upload_limits(app: Flask) -> None:
    """Call before CSRFProtect is set up: its check reads the form, so the limit must be in place first."""

    @app.before_request
    def apply_upload_limit():
        view = app.view_functions.get(request.endpoint)
        limit = getattr(view, "max_content_length", None)
        if limit is not None:
            request.max_content_length = limit


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths: an open redirect would make a phishing link look like ours."""
    if not target:
        return default
    # Browsers read "/\\evil.example" as "//evil.example", and strip tabs and newlines inside URLs.
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target.rstrip("?") or default


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


def error_response(status: int, code: str, message: str, extra: dict | None = None):
    """JSON ``{"error": {"code", "message", ...}}`` under /api, the error page elsewhere."""
    if _wants_json():
        body = {"error": {"code": code, "message": message, **(extra or {})}}
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message), status


def register_unit_of_work(app: Flask) -> None:
    @app.after_request
    def commit_request(response):
        db.session.commit()
        return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        db.session.rollback()
        extra = {"errors": error.errors} if isinstance(error, ValidationFailed) and error.errors else None
        return error_response(error.status, error.code, error.message or _http_message(error.status), extra)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        # Pages that hold a resident's answers handle an expired token themselves (they re-show the
        # entries); anything else gets a plain explanation rather than a bare 400.
        db.session.rollback()
        security_log.record("csrf", "denied", reason=error.description[:100])
        return error_response(400, "csrf_failed",
                              _("画面の有効期限が切れました。お手数ですが、もう一度操作してください。"))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        db.session.rollback()
        status = error.code or 500
        if status == 403:
            security_log.record("access", "denied", endpoint=request.endpoint)
        return error_response(status, _HTTP_CODES.get(status, "http_error"), _http_message(status))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", _http_message(500))


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Pages that show personal data: never kept by the browser or a proxy, downloads included
#: (send_file's own "no-cache" would let a shared browser keep them).
PRIVATE_PREFIXES = ("/drafts", "/submissions", "/account", "/office", "/dev")
#: Answers that change from one moment to the next (a revocation, a new revision): not cached either.
FRESH_PREFIXES = ("/verify", "/api/", "/healthz")


def register_security_headers(app: Flask) -> None:
    hsts = app.config.get("HSTS")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        if request.path.startswith(PRIVATE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
            response.headers.pop("ETag", None)
            response.headers.pop("Last-Modified", None)
        elif request.path.startswith(FRESH_PREFIXES):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
