"""`flask demo seed` shows the errand whole: a case in every state; receivers outside the city reached
only where the resident consented; the notice of each decision; images of each final document for
verification; a late 転居届 that staff see as 届出期間経過."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Resident
from app.catalogue.models import FormVersion
from app.delivery.models import Delivery
from app.documents import service as documents
from app.submissions.models import Submission
from app.submissions.presenters import answer_rows


def cases(db, email: str, slug: str) -> list[Submission]:
    return list(db.session.scalars(
        sa.select(Submission).join(FormVersion).join(Resident, Resident.id == Submission.resident_id)
        .where(Resident.email == email, FormVersion.slug == slug).order_by(Submission.id)))


def delivered(db, submission: Submission) -> list[str]:
    return sorted(d.destination.code for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.submission_id == submission.id)))


def test_the_demo_shows_the_errand(app, db, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    states = set(db.session.scalars(sa.select(Submission.state)))
    assert states == {"draft", "in_review", "returned", "rejected", "approved", "withdrawn"}

    hanako_moved = cases(db, "hanako@example.jp", "tenkyo")[0]
    assert hanako_moved.state == "approved" and delivered(db, hanako_moved) == ["kaigo-hikari", "suido"]
    taro_moved = cases(db, "taro@example.jp", "tenkyo")[0]
    assert taro_moved.state == "approved" and delivered(db, taro_moved) == ["suido"]  # he did not consent
    hanako_seal = cases(db, "hanako@example.jp", "inkan-shomei")[0]
    assert hanako_seal.state == "approved" and delivered(db, hanako_seal) == ["homukyoku"]  # by fax
    assert delivered(db, cases(db, "hanako@example.jp", "juminhyo")[0]) == []  # a 住民票 goes nowhere else

    for submission in db.session.scalars(sa.select(Submission).where(Submission.state.in_(("approved", "rejected")))):
        notice = documents.current_document(submission.id, "notice")
        assert notice is not None and notice.latest is not None and notice.verification_code is None
        if submission.state == "approved":
            assert documents.current_document(submission.id).latest.page_images

    (late,) = cases(db, "emma@example.com", "tenkyo")
    rows = [row for section in answer_rows(late, "ja", editable=False, reveal_sensitive=False)
            for row in section["rows"]]
    assert any(row["warning"] and "届出期間経過" in row["warning"] for row in rows)
