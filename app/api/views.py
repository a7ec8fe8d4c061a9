"""/api/v1: JSON for machines; errors are JSON with a code (``app.http``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from app.api.verification import verify_bytes, verify_code
from app.api.verify_pages import MAX_PDF_BYTES, VERIFY_LIMIT, audit_lookup, private
from app.db import writes
from app.documents import codes
from app.extensions import csrf, limiter
from app.http import error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
#: /api/v1/verify: a blueprint of its own, so the rate limit and the CSRF exemption say what they cover.
verify_api_bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")
csrf.exempt(verify_api_bp)


@bp.get("/")
def index():
    return jsonify({"service": "madoguchi", "version": 1})


@verify_api_bp.route("/verify", methods=["GET", "POST"])
@writes  # every lookup is recorded
@limiter.limit(VERIFY_LIMIT)
@private  # it carries what the document says (printed_fields): no-store, noindex, no-referrer
def api_verify():
    """GET ?code=… or POST a PDF (the raw body, or a multipart field ``document``): the verification summary,
    with ``printed_fields`` (what the document says) for a document the service stored."""
    if request.method == "GET":
        code = request.args.get("code", "")
        if codes.normalise_code(code) is None:
            return error_response(422, "invalid_code", "code must be 16 Crockford base32 characters")
        result = verify_code(code)
        audit_lookup(result, "api-code")
        if result is None:
            return error_response(404, "not_found", "no document has this verification code")
        return jsonify(result)
    upload = request.files.get("document")
    data = upload.read(MAX_PDF_BYTES + 1) if upload else request.get_data(cache=False)[: MAX_PDF_BYTES + 1]
    if len(data) > MAX_PDF_BYTES or not data.startswith(b"%PDF"):
        return error_response(422, "not_a_pdf", "send a PDF (at most 20 MB) as the body or as the field 'document'")
    result = verify_bytes(data)
    audit_lookup(result, "api-upload")
    return jsonify(result)
