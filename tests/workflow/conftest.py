from __future__ import annotations

import pytest

from app.demo import fill
from app.submissions import service as submissions
from app.workflow import service as workflow
from tests.helpers import make_resident
from tests.staff_fixtures import make_staff


@pytest.fixture
def staff(db, catalogue):
    """The 市民課 team of the 住民票 route (受付 clerk → 決裁 approver) and outsiders."""
    return {
        "clerk": make_staff(db, "suzuki@city.example.jp", "shimin", ["clerk"])[0],
        "clerk2": make_staff(db, "tanaka@city.example.jp", "shimin", ["clerk"])[0],
        "approver": make_staff(db, "kacho@city.example.jp", "shimin", ["approver"])[0],
        "both": make_staff(db, "sato@city.example.jp", "shimin", ["clerk", "approver"])[0],
        "zeimu": make_staff(db, "zei@city.example.jp", "zeimu", ["approver"])[0],
        "fukushi": make_staff(db, "fuku@city.example.jp", "fukushi", ["approver"])[0],
        "kodomo": make_staff(db, "kodomo@city.example.jp", "kodomo", ["clerk", "approver"])[0],
    }


@pytest.fixture
def applicant(db, catalogue):
    return make_resident(db, "hanako@example.jp")


@pytest.fixture
def new_case(db, applicant, pki, run_worker):
    """new_case(slug, state=...) → a submission brought to ``state`` through the real services.

    "in_review": submitted, then the worker rendered its document and put it on the route.
    """

    def build(slug: str = "juminhyo", state: str = "in_review"):
        submission = fill(applicant, slug)
        if state == "draft":
            db.session.commit()
            return submission
        submissions.submit(submission)
        db.session.commit()
        if state != "submitted":
            run_worker()
            db.session.refresh(submission)
        return submission

    return build


@pytest.fixture
def approve(db, run_worker):
    """approve(submission_id, staff): the click, then the worker seals the step (and what follows)."""

    def decide(submission_id: int, staff):
        approval = workflow.approve(submission_id, staff)
        db.session.commit()
        run_worker()
        return approval

    return decide
