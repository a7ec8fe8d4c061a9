"""/verify (for anyone holding a printout, a fax or a PDF), and /pki/ (the root and the CRLs).

A verification answer shows what the document says (``app.api.document_contents``), so it is treated as
the private page it is: never stored by a browser or a proxy, never indexed, and the address (which
holds the code) never sent on as a referrer. The images of the pages have addresses of their own,
answered the same way.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.api.document_contents import contents
from app.api.verification import verify_bytes, verify_code
from app.audit.service import record as audit
from app.db import writes
from app.documents import codes
from app.documents import service as documents
from app.extensions import db, limiter
from app.http import error_response
from app.seals import pki, service
from app.submissions.models import Submission

bp = Blueprint("verify", __name__)

VERIFY_LIMIT = "30/minute"
#: A page of a document is fetched once per page per lookup: more than lookups, still bounded.
PAGE_IMAGE_LIMIT = "120/minute"
MAX_PDF_BYTES = 20 * 1024 * 1024
#: What every answer that may carry a document's content says to browsers, proxies and search engines.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


def private(view):
    """The view's response (and its error pages) carry ``PRIVATE_HEADERS``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers.update(PRIVATE_HEADERS)
        return response

    return wrapper


def audit_lookup(result: dict | None, how: str) -> None:
    audit("verify.lookup", actor_type="public", subject_type="document", subject_id=None,
          data={"how": how, "found": result is not None, "genuine": bool(result and result["genuine"])})


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
@private
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
@private
def verify_by_code(code: str):
    normalised = codes.normalise_code(code)
    result = verify_code(normalised) if normalised else None
    audit_lookup(result, "code")
    if result is None:
        return render_template("verify/form.html", error=_(
            "この照合番号の書類は見つかりませんでした。コードをもう一度お確かめください。")), 404
    return render_template("verify/result.html", result=result, code=codes.format_code(normalised))


@bp.get("/verify/<code>/pages/<int:number>.png")
@limiter.limit(PAGE_IMAGE_LIMIT)
@private
def page_image(code: str, number: int):
    """One page of a document as an image, under the same rules as its text: the code's document, its
    latest revision, within the retention. Not a lookup: the page that shows it was one."""
    document = documents.document_by_code(code)
    latest = document.latest if document is not None else None
    if (latest is None or not latest.page_images or not 1 <= number <= len(latest.page_images)
            or contents(document, db.session.get(Submission, document.submission_id))["content_withheld"]):
        return error_response(404, "not_found", _("お探しのページは見つかりませんでした。"))
    return Response(documents.page_image(latest.page_images[number - 1]), mimetype="image/png")


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
