"""The documents' own job: images of a sealed document's pages, for the verification page.

Rendered by the worker after the organisation seal, in a job of its own so that sealing (and the
deliveries written with it) never waits for the images. Handlers flush; the worker commits.
"""

from __future__ import annotations

from app.documents import service as documents
from app.documents.models import DocumentRevision
from app.documents.page_images import page_pngs
from app.extensions import db
from app.jobs.queue import enqueue
from app.jobs.worker import register_handler

PAGE_IMAGES_JOB = "documents.page_images"


def queue_page_images(revision: DocumentRevision) -> None:
    """Ask the worker for images of ``revision``'s pages (once per revision)."""
    enqueue(PAGE_IMAGES_JOB, {"revision_id": revision.id}, idempotency_key=f"page-images:{revision.sha256}")


def run_page_images(payload: dict) -> None:
    revision = db.session.get(DocumentRevision, payload["revision_id"])
    if revision is None or revision.page_images is not None:
        return  # gone, or a retried job that already ran
    documents.store_page_images(revision, page_pngs(documents.read_bytes(revision.sha256)))


def register() -> None:
    register_handler(PAGE_IMAGES_JOB, run_page_images)
