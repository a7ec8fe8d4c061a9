"""/api/v1: JSON for machines; errors are JSON with a code (``app.http``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from app.api import lookups
from app.api.verification import MAX_UPLOAD_BYTES, VerificationTooCostly, verify_code, verify_upload
from app.api.verify_pages import VERIFY_LIMIT, VERIFY_REQUEST_MAX_BYTES, found_code, private
from app.documents import codes
from app.extensions import csrf, limiter
from app.http import error_response, upload_limit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
#: /api/v1/verify: a blueprint of its own, so the rate limit and the CSRF exemption say what they cover.
verify_api_bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")
csrf.exempt(verify_api_bp)
lookups.register_counting(verify_api_bp)


@bp.get("/")
def index():
    return jsonify({"service": "madoguchi", "version": 1})


def _too_costly():
    return error_response(422, "verification_too_costly",
                          "checking this file exceeded the verifier's time or memory limit; verify by code instead")


@verify_api_bp.route("/verify", methods=["GET", "POST"])
@upload_limit(VERIFY_REQUEST_MAX_BYTES)
@limiter.limit(VERIFY_LIMIT)
@private  # it carries what the document says (printed_fields): no-store, noindex, no-referrer
def api_verify():
    """GET ?code=… or POST a PDF (the raw body, or a multipart field ``document``; at most 5 MB): the
    verification summary, with ``printed_fields`` (what the document says) for a document the service
    stored."""
    if request.method == "GET":
        code = request.args.get("code", "")
        if codes.normalise_code(code) is None:
            return error_response(422, "invalid_code", "code must be 16 Crockford base32 characters")
        try:
            result = verify_code(code)
        except VerificationTooCostly:
            return _too_costly()
        lookups.count(codes.normalise_code(code) if result else None, "api-code")
        if result is None:
            return error_response(404, "not_found", "no document has this verification code")
        return jsonify(result)
    upload = request.files.get("document")
    data = upload.read(MAX_UPLOAD_BYTES + 1) if upload else request.get_data(cache=False)[: MAX_UPLOAD_BYTES + 1]
    if len(data) > MAX_UPLOAD_BYTES or not data.startswith(b"%PDF"):
        return error_response(422, "not_a_pdf", "send a PDF (at most 5 MB) as the body or as the field 'document'")
    try:
        result = verify_upload(data)
    except VerificationTooCostly:
        lookups.count(None, "api-upload")
        return _too_costly()
    lookups.count(found_code(result), "api-upload")
    return jsonify(result)
