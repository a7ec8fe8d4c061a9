"""/verify (for anyone holding a printout, a fax or a PDF), and /pki/ (the root and the CRLs)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.api.verification import verify_bytes, verify_code
from app.audit.service import record as audit
from app.db import writes
from app.documents import codes
from app.extensions import limiter
from app.seals import pki, service

bp = Blueprint("verify", __name__)

VERIFY_LIMIT = "30/minute"
MAX_PDF_BYTES = 20 * 1024 * 1024


def audit_lookup(result: dict | None, how: str) -> None:
    audit("verify.lookup", actor_type="public", subject_type="document", subject_id=None,
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
            audit_lookup(result, "upload")
            return render_template("verify/result.html", result=result, code=None)
        code = codes.normalise_code(request.form.get("code", ""))
        if code is None:
            return render_template("verify/form.html", error=_(
                "照合番号は、英数字16文字です（例：ABCD-EFGH-JKMN-PQRS）。もう一度お確かめください。")), 422
        return redirect(url_for(".verify_by_code", code=codes.format_code(code)))
    return render_template("verify/form.html", error=None)


@bp.get("/verify/<code>")
@writes  # every lookup is recorded
@limiter.limit(VERIFY_LIMIT)
def verify_by_code(code: str):
    normalised = codes.normalise_code(code)
    result = verify_code(normalised) if normalised else None
    audit_lookup(result, "code")
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
