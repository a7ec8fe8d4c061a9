"""Applying seals in the worker: a step's seal, then the organisation seal that locks the document.

Each runs in its job's one transaction: the seal record, the new document revision and the workflow's
next move commit together (the worker commits). The PDF bytes are stored (content-addressed) before
the commit: in the database backend in the same transaction, in the filesystem backend as a file, so a
crash leaves at worst an orphaned file, never a record that names missing bytes. A retried job finds
its approval already complete and does nothing; a job whose worker died mid-seal is taken over after
its lease and seals once.
"""

from __future__ import annotations

import functools

from flask import current_app

from app.accounts.models import Staff
from app.catalogue.definition import destination_entries
from app.delivery.destinations import consented
from app.delivery.outbox import DeliveryOrder, write_deliveries
from app.documents import service as documents
from app.documents.jobs import queue_page_images
from app.documents.models import Document
from app.extensions import db
from app.jobs.faults import fault_point
from app.seals import records
from app.seals import service as seals
from app.seals.imprint import org_seal_svg
from app.submissions.models import Submission
from app.submissions.service import content_hashes
from app.submissions.states import State
from app.workflow import service as workflow
from app.workflow.models import Approval
from app.workflow.rendering import step_field_name
from app.workflow.service import ORG_SEAL


@functools.lru_cache(maxsize=256)
def _stamp(svg: str) -> bytes:
    """The imprint's appearance as a PDF, rendered once per worker process and imprint (name, office, date).

    Rendering the SVG with WeasyPrint costs more than the signature itself; the bytes depend only on the
    SVG text (the date is in it), so a cached copy shows exactly what a fresh render would. Each worker
    (on any node) keeps its own: a miss only costs the render.
    """
    from app.documents.stamp import stamp_pdf  # WeasyPrint: only the worker renders

    return stamp_pdf(svg)


def seal_subject(submission: Submission) -> records.SealSubject:
    """What a seal record of this case commits to (and what verification recomputes)."""
    version = submission.form_version
    return records.SealSubject(submission_id=submission.id, receipt_number=submission.receipt_number,
                               form=f"{version.slug}@{version.version}", round=submission.round,
                               content_hashes=content_hashes(submission))


def _seal(submission: Submission, document: Document, field_name: str, certificate, svg: str, *, lock: bool,
          reason: str, step: str, actor: dict, approval_id: int | None, revision_reason: str) -> None:
    """Sign the field in the document's latest revision, record the seal in SQL, store the new revision."""
    revision = document.latest
    signed = seals.seal_pdf(documents.read_bytes(revision.sha256), field_name, certificate, _stamp(svg),
                            lock=lock, reason=reason)
    record = records.append(
        seal_subject(submission), document_id=document.id, approval_id=approval_id, field_name=field_name,
        step=step, actor=actor, certificate=certificate, signer=seals.signer_for(certificate),
        signed_revision_sha256=revision.sha256,
    )
    record.result_revision_sha256 = documents.add_revision(document, signed, revision_reason).sha256
    if revision.seq == 1:  # the document's first seal
        fault_point("mid_seal")  # TEST ONLY (app/jobs/faults.py): killed before the job commits


def apply_step_seal(approval_id: int) -> None:
    approval = db.session.get(Approval, approval_id)
    submission = workflow.lock(approval.submission_id)
    if not workflow.awaits_seal(approval, submission):
        return
    staff = db.session.get(Staff, approval.decided_by_id)
    field_name = step_field_name(approval.step_index, approval.step_key, approval.office.code)
    _seal(submission, documents.current_document(submission.id), field_name,
          seals.current_staff_certificate(staff), seals.staff_imprint_svg(staff), lock=False,
          reason=f"{approval.step_key} 承認", step=approval.step_key,
          actor={"staff": staff.id, "office": staff.office.code}, approval_id=approval.id,
          revision_reason=f"seal:{field_name}")
    workflow.complete_approval(approval.id)


def apply_org_seal(submission_id: int) -> None:
    submission: Submission = workflow.lock(submission_id)
    if submission.state != State.IN_REVIEW or submission.current_step is not None:
        return  # already approved (a retried job), or no longer waiting for the organisation seal
    document = documents.current_document(submission.id)
    config = current_app.config
    # The organisation seal's field carries the lock: nothing may be signed after it.
    _seal(submission, document, ORG_SEAL, seals.current_org_certificate(),
          org_seal_svg(config["MADOGUCHI_MUNICIPALITY"]), lock=True, reason="決裁（公印）", step=ORG_SEAL,
          actor={"organisation": config["MADOGUCHI_ORGANIZATION_ID"]}, approval_id=None, revision_reason=ORG_SEAL)
    # The final document is what leaves the office (faxes, the resident's copy): verification shows its
    # pages as images. Rendered by a job of its own, so approving never waits for them. Earlier revisions
    # stay inside the office, and verification shows their printed text only.
    queue_page_images(document.latest)
    # The deliveries are written in the transaction that approves: committed together or not at all.
    write_deliveries(delivery_order(submission, document))
    workflow.finish(submission.id)


def delivery_order(submission: Submission, document: Document) -> DeliveryOrder:
    """What the outbox needs to send the sealed document and print its cover sheets, as plain data.

    Its destinations are the form's, less every external one the resident did not consent to: no row is
    ever written for those (the case page says so)."""
    version = submission.form_version
    revision = document.latest
    codes = consented([entry["code"] for entry in destination_entries(version.definition)],
                      submission.destination_consents)
    return DeliveryOrder(
        submission_id=submission.id, document_id=document.id, document_sha256=revision.sha256,
        destination_codes=codes, receipt_number=submission.receipt_number,
        form_slug=version.slug, form_title=version.title_ja, verification_code=document.verification_code,
        office_id=version.office_id, office_name=version.office.name_ja,
    )

