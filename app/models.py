"""Imports every model module so the metadata is complete (Alembic, create_app)."""

from app.accounts.models import Office, Resident  # noqa: F401
from app.catalogue.models import FormVersion  # noqa: F401
from app.delivery.models import Job  # noqa: F401
from app.submissions.models import Attachment, Submission, SubmissionHistory  # noqa: F401
