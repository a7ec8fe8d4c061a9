"""/verify (for anyone holding a printout, a fax or a PDF), and /pki/ (the root and the CRLs).

An upload may be at most ``MAX_UPLOAD_BYTES`` (5 MB; form uploads keep the 12 MB request limit) and
is parsed only in the verification child; a file that hits its limits gets ``verification_too_costly``.
Lookups are counted (``app.api.lookups``), not written to the ledger one by one.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.api import lookups
from app.api.verification import MAX_UPLOAD_BYTES, VerificationTooCostly, verify_code, verify_upload
from app.documents import codes
from app.extensions import limiter
from app.http import upload_limit
from app.seals import pki, service

bp = Blueprint("verify", __name__)
lookups.register_counting(bp)

VERIFY_LIMIT = "30/minute"


#: The request's limit: the file plus a form's token and part headers (a raw body is the file alone,
#: and the view reads at most MAX_UPLOAD_BYTES + 1 of it).
VERIFY_REQUEST_MAX_BYTES = MAX_UPLOAD_BYTES + 16 * 1024


def found_code(result: dict | None) -> str | None:
    document = (result or {}).get("document")
    return codes.normalise_code(document["verification_code"]) if document else None


def _too_costly():
    return render_template("verify/form.html", error=_(
        "このファイルは確認に時間がかかりすぎるため、確認できませんでした（照合番号での確認をお試しください）。"),
        error_code="verification_too_costly"), 422


@bp.route("/verify", methods=["GET", "POST"])
@upload_limit(VERIFY_REQUEST_MAX_BYTES)
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
def verify_form():
    if request.method == "POST":
        upload = request.files.get("document")
        if upload and upload.filename:
            data = upload.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES or not data.startswith(b"%PDF"):
                return render_template("verify/form.html", error=_("PDFファイルを選んでください（5MBまで）。")), 422
            try:
                result = verify_upload(data)
            except VerificationTooCostly:
                lookups.count(None, "upload")
                return _too_costly()
            lookups.count(found_code(result), "upload")
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
    try:
        result = verify_code(normalised) if normalised else None
    except VerificationTooCostly:
        return _too_costly()
    lookups.count(normalised if result else None, "code")
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
    return Response(pki.cert_pem(service.root_certificate()), mimetype="application/x-pem-file")
