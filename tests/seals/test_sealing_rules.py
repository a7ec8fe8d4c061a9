"""Rules around applying seals: a fresh second factor, certificates for new staff, render failures shown."""

from __future__ import annotations

import datetime as dt

import pyotp
import sqlalchemy as sa

from app.accounts import staff_service
from app.db import utcnow
from app.seals.models import Imprint, SealCertificate
from app.submissions.models import Submission
from app.workflow.models import Approval
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff


def test_a_new_staff_member_gets_a_certificate_and_imprint_from_the_worker(db, pki, run_worker):
    staff, _password, _secret = make_staff(db, "new.clerk@city.example.jp", "shimin", ["clerk"])
    assert db.session.scalar(sa.select(SealCertificate).where(SealCertificate.staff_id == staff.id)) is None
    run_worker()
    certificate = db.session.scalar(sa.select(SealCertificate).where(SealCertificate.staff_id == staff.id))
    assert certificate is not None and certificate.is_current and certificate.key_pem_enc
    assert b"PRIVATE KEY" in certificate.key_pem_enc and b"ENCRYPTED" in certificate.key_pem_enc
    imprint = db.session.scalar(sa.select(Imprint).where(Imprint.staff_id == staff.id))
    assert imprint.certificate_id == certificate.id and "<svg" in imprint.svg


def test_applying_a_seal_needs_a_fresh_second_factor(app, db, new_case, monkeypatch, run_worker):
    submission = new_case("juminhyo", "in_review")
    clerk, password, secret = make_staff(db, "suzuki@city.example.jp", "shimin", ["clerk"])
    client = app.test_client()
    sign_in_staff(client, clerk.email, password, secret)
    db.session.refresh(clerk)
    clerk.last_second_factor_at = utcnow() - dt.timedelta(minutes=30)  # signed in a while ago
    db.session.commit()
    case_url = f"/office/cases/{submission.id}"
    page = client.get(case_url)
    assert 'name="code"' in page.get_data(as_text=True)
    refused = client.post(f"{case_url}/approve", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 403
    assert db.session.scalar(sa.select(Approval.state).where(Approval.submission_id == submission.id)) == "pending"
    # A later time step than the one used at sign-in (codes are single use).
    monkeypatch.setattr(staff_service, "_now", lambda: dt.datetime.now(dt.UTC).timestamp() + 30)
    code = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    accepted = client.post(f"{case_url}/approve", data={"csrf_token": csrf_token(page), "code": code})
    assert accepted.status_code == 302
    run_worker()
    approval = db.session.scalar(sa.select(Approval).where(Approval.submission_id == submission.id))
    assert approval.state == "complete"


def test_a_render_that_hits_a_limit_fails_cleanly_and_shows_on_the_case_page(app, db, pki, applicant, run_worker,
                                                                              monkeypatch):
    from app.demo.answers import fill
    from app.documents import service as documents
    from app.documents.errors import RenderFailed
    from app.submissions import service as submissions

    class ExhaustedPool:
        def render(self, *args, **kwargs):
            raise RenderFailed("CPU time limit (20 s) exceeded")

    monkeypatch.setattr(documents, "render_pool", lambda: ExhaustedPool())
    submission = fill(applicant, "juminhyo")
    submissions.submit(submission)
    db.session.commit()
    run_worker()
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).state == "submitted"  # not on the route without a document
    from app.jobs.models import Job

    job = db.session.scalar(sa.select(Job).where(Job.kind == "workflow.enter_route"))
    assert job.state == "dead" and "CPU time limit" in job.last_error
    clerk, password, secret = make_staff(db, "suzuki@city.example.jp", "shimin", ["clerk"])
    client = app.test_client()
    sign_in_staff(client, clerk.email, password, secret)
    html = client.get(f"/office/cases/{submission.id}").get_data(as_text=True)
    assert "決裁文書を作成できませんでした" in html and "CPU time limit" in html
