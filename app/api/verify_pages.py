"""/verify (for anyone holding a printout, a fax or a PDF), and /pki/ (the root and the CRLs).

An upload may be at most ``MAX_UPLOAD_BYTES`` (5 MB; form uploads keep the 12 MB request limit) and
is parsed only in the verification child; a file that hits its limits gets ``verification_too_costly``.
Lookups are counted (``app.api.lookups``), not written to the ledger one by one.

A verification answer shows what the document says (``app.api.document_contents``), so it is treated as
the private page it is: never stored by a browser or a proxy, never indexed, and the address (which
holds the code) never sent on as a referrer. The images of the pages have addresses of their own,
answered the same way.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.api import lookups
from app.api.document_contents import contents
from app.api.verification import MAX_UPLOAD_BYTES, VerificationTooCostly, verify_code, verify_upload
from app.documents import codes
from app.documents import service as documents
from app.extensions import db, limiter
from app.http import error_response, upload_limit
from app.seals import pki, service
from app.submissions.models import Submission

bp = Blueprint("verify", __name__)
lookups.register_counting(bp)

VERIFY_LIMIT = "30/minute"
#: A page of a document is fetched once per page per lookup: more than lookups, still bounded.
PAGE_IMAGE_LIMIT = "120/minute"
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


#: The request's limit: the file plus a form's token and part headers (a raw body is the file alone,
#: and the view reads at most MAX_UPLOAD_BYTES + 1 of it).
VERIFY_REQUEST_MAX_BYTES = MAX_UPLOAD_BYTES + 16 * 1024


def found_code(result: dict | None) -> str | None:
    document = (result or {}).get("document")
    # A receipt has no verification code: its lookups count as the code-less ones.
    return codes.normalise_code(document["verification_code"]) if document and document["verification_code"] else None


def _too_costly():
    return render_template("verify/form.html", error=_(
        "このファイルは確認に時間がかかりすぎるため、確認できませんでした（照合番号での確認をお試しください）。"),
        error_code="verification_too_costly"), 422


@bp.route("/verify", methods=["GET", "POST"])
@upload_limit(VERIFY_REQUEST_MAX_BYTES)
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
@private
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
@private
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
