"""Applying seals in the worker: a step's seal, then the organisation seal that locks the document.

Each runs in one transaction: the seal record, the new document revision and the workflow's next
move commit together. The PDF bytes are written (content-addressed) before the commit, so a crash
leaves at worst an orphaned file, never a record that names missing bytes. A retried job finds its
approval already complete and does nothing.
"""

from __future__ import annotations

import datetime as dt
import functools

from flask import current_app

from app.accounts.models import Staff
from app.db import utcnow
from app.delivery import outbox
from app.documents import service as documents
from app.extensions import db
from app.seals import records, service
from app.submissions.models import Submission
from app.workflow import service as workflow
from app.workflow.models import Approval

JST = dt.timezone(dt.timedelta(hours=9))
#: Bytes reserved for each CMS signature: an ECDSA signature, its chain and an RFC 3161 token fit.
SIGNATURE_RESERVATION = 16384


@functools.lru_cache(maxsize=256)
def _stamp(svg: str) -> bytes:
    """The imprint's appearance as a PDF, rendered once per worker process and imprint (name, office, date).

    Rendering the SVG with WeasyPrint costs more than the signature itself; the bytes depend only on the
    SVG text (the date is in it), so a cached copy shows exactly what a fresh render would.
    """
    from app.documents.imprint import stamp_pdf

    return stamp_pdf(svg)


def _sign(document, field_name: str, certificate, signer, stamp_svg: str, *, lock: bool, reason: str):
    from app.seals.sign import sign_field

    revision = document.latest
    signed = sign_field(
        documents.read_bytes(revision.sha256), field_name, signer, stamp_pdf=_stamp(stamp_svg),
        timestamp_url=current_app.config["MADOGUCHI_TSA_URL"], lock=lock, reason=reason,
        location=current_app.config["MADOGUCHI_MUNICIPALITY"],
        # A fixed reservation skips pyHanko's dry-run signature that only measures the size (~10 ms).
        bytes_reserved=SIGNATURE_RESERVATION,
    )
    return revision, signed


def apply_step_seal(approval_id: int) -> None:
    approval = db.session.get(Approval, approval_id)
    submission = workflow.lock(approval.submission_id)
    if approval.state != "approved" or submission.state != "in_review" or approval.round != submission.round:
        return  # already sealed (a retried job), or the case was returned or withdrawn meanwhile
    staff = db.session.get(Staff, approval.decided_by_id)
    document = documents.current_document(submission)
    certificate = service.current_staff_certificate(staff)
    signer = service.signer_for(certificate)
    field_name = documents.step_field_name(approval.step_index, approval.step_key, approval.office.code)
    from app.documents.imprint import imprint_svg

    surname = staff.display_name.split()[0] if staff.display_name.split() else staff.display_name
    svg = imprint_svg(surname, staff.office.name_ja, utcnow().astimezone(JST).date())
    revision, signed = _sign(document, field_name, certificate, signer, svg, lock=False,
                             reason=f"{approval.step_key} 承認")
    record = records.append(
        submission, document_id=document.id, approval_id=approval.id, field_name=field_name, step=approval.step_key,
        actor={"staff": staff.id, "office": staff.office.code}, certificate=certificate, signer=signer,
        signed_revision_sha256=revision.sha256,
    )
    record.result_revision_sha256 = documents.add_revision(document, signed, f"seal:{field_name}").sha256
    workflow.complete_approval(approval.id)


def apply_org_seal(submission_id: int) -> None:
    from app.documents.imprint import org_seal_svg

    submission: Submission = workflow.lock(submission_id)
    if submission.state != "in_review" or submission.current_step is not None:
        return  # already approved (a retried job), or no longer waiting for the organisation seal
    document = documents.current_document(submission)
    certificate = service.current_org_certificate()
    signer = service.signer_for(certificate)
    municipality = current_app.config["MADOGUCHI_MUNICIPALITY"]
    revision, signed = _sign(document, documents.ORG_SEAL_FIELD, certificate, signer, org_seal_svg(municipality),
                             lock=True, reason="決裁（公印）")
    record = records.append(
        submission, document_id=document.id, approval_id=None, field_name=documents.ORG_SEAL_FIELD, step="org-seal",
        actor={"organisation": current_app.config["MADOGUCHI_ORGANIZATION_ID"]}, certificate=certificate,
        signer=signer, signed_revision_sha256=revision.sha256,
    )
    record.result_revision_sha256 = documents.add_revision(document, signed, "org-seal").sha256
    # The deliveries are written in the transaction that approves: committed together or not at all.
    outbox.write_deliveries(submission, document)
    workflow.finish(submission.id)
