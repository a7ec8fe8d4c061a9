"""/verify (for anyone holding a printout, a fax or a PDF), /api/v1/verify, and /pki/crl.der."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.audit.service import record_read
from app.documents import codes
from app.extensions import csrf, limiter
from app.seals import service
from app.seals.verification import verify_bytes, verify_code

bp = Blueprint("verify", __name__)
api_bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)

VERIFY_LIMIT = "30/minute"
MAX_PDF_BYTES = 20 * 1024 * 1024


def _audit(result: dict | None, how: str) -> None:
    record_read("verify.lookup", actor_type="public", subject_type="document", subject_id=None,
                data={"how": how, "found": result is not None, "genuine": bool(result and result["genuine"])})


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
def verify_form():
    if request.method == "POST":
        upload = request.files.get("document")
        if upload and upload.filename:
            data = upload.read(MAX_PDF_BYTES + 1)
            if len(data) > MAX_PDF_BYTES or not data.startswith(b"%PDF"):
                return render_template("verify/form.html", error=_("PDFファイルを選んでください（20MBまで）。")), 422
            result = verify_bytes(data)
            _audit(result, "upload")
            return render_template("verify/result.html", result=result, code=None)
        code = codes.normalise_code(request.form.get("code", ""))
        if code is None:
            return render_template("verify/form.html", error=_(
                "照合番号は、英数字16文字です（例：ABCD-EFGH-JKMN-PQRS）。もう一度お確かめください。")), 422
        return redirect(url_for(".verify_by_code", code=codes.format_code(code)))
    return render_template("verify/form.html", error=None)


@bp.get("/verify/<code>")
@limiter.limit(VERIFY_LIMIT)
def verify_by_code(code: str):
    normalised = codes.normalise_code(code)
    result = verify_code(normalised) if normalised else None
    _audit(result, "code")
    if result is None:
        return render_template("verify/form.html", error=_(
            "この照合番号の書類は見つかりませんでした。コードをもう一度お確かめください。")), 404
    return render_template("verify/result.html", result=result, code=codes.format_code(normalised))


@bp.get("/pki/crl.der")
def crl():
    return _crl("issuing")


@bp.get("/pki/root-crl.der")
def root_crl():
    return _crl("root")


def _crl(issuer: str):
    der = service.latest_crl(issuer)
    if der is None:
        abort(404)
    return Response(der, mimetype="application/pkix-crl", headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/pki/root.pem")
def root_pem():
    from app.seals import pki

    return Response(pki.cert_pem(service.root_certificate()), mimetype="application/x-pem-file")


@api_bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT)
def api_verify():
    """GET ?code=… or POST a PDF (the raw body, or a multipart field ``document``): the verification summary."""
    if request.method == "GET":
        code = request.args.get("code", "")
        if codes.normalise_code(code) is None:
            return _api_error(422, "invalid_code", "code must be 16 Crockford base32 characters")
        result = verify_code(code)
        _audit(result, "api-code")
        if result is None:
            return _api_error(404, "not_found", "no document has this verification code")
        return jsonify(result)
    upload = request.files.get("document")
    data = upload.read(MAX_PDF_BYTES + 1) if upload else request.get_data(cache=False)[: MAX_PDF_BYTES + 1]
    if len(data) > MAX_PDF_BYTES or not data.startswith(b"%PDF"):
        return _api_error(422, "not_a_pdf", "send a PDF (at most 20 MB) as the body or as the field 'document'")
    result = verify_bytes(data)
    _audit(result, "api-upload")
    return jsonify(result)


def _api_error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status
