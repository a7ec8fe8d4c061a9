"""Imports every model module so the metadata is complete (Alembic, create_app)."""

from app.accounts.models import Office, Resident, Staff  # noqa: F401
from app.api.lookups import VerificationLookup  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.catalogue.models import FormVersion  # noqa: F401
from app.delivery.models import Delivery, Destination  # noqa: F401
from app.documents.models import Blob, BlobChunk, Document, DocumentRevision  # noqa: F401
from app.jobs.models import Job  # noqa: F401
from app.rate_limits import RateLimitCounter  # noqa: F401
from app.seals.models import CrlPublication, Imprint, SealCertificate, SealRecord  # noqa: F401
from app.security_log import SecurityEvent  # noqa: F401
from app.submissions.models import Attachment, Submission, SubmissionHistory  # noqa: F401
from app.workflow.models import Approval  # noqa: F401
