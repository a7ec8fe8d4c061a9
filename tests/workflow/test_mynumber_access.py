"""H3: My Number only for a designated handler (個人番号事務取扱担当者) of the office whose step is current,
holding that step's role, while the case is open there; every other role and office gets 403 and the
attempt is in the ledger (and shown to the resident). The review's reproduction: the tax office's
approver, a counter clerk and an administrator each got 200 with the number."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.submissions.models import Submission
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff

NUMBER = "123456789018"  # the My Number the demo answers give

#: (office, roles, designated) of each actor; all of them may see the 転居届 case, but kodomo.
ACTORS = {
    "shimin_clerk_designated": ("shimin", ["clerk"], True),
    "shimin_clerk": ("shimin", ["clerk"], False),
    "shimin_approver_designated": ("shimin", ["approver"], True),
    "shimin_counter_clerk_designated": ("shimin", ["counter_clerk"], True),
    "shimin_admin_designated": ("shimin", ["admin"], True),
    "zeimu_approver_designated": ("zeimu", ["approver"], True),
    "zeimu_approver": ("zeimu", ["approver"], False),
    "fukushi_approver_designated": ("fukushi", ["approver"], True),
    "kodomo_clerk_designated": ("kodomo", ["clerk"], True),
}
#: Who may reveal, by the step the case is at (the route: uketsuke, shinsa (shimin clerks), gougi
#: (zeimu and fukushi approvers), kessai (shimin approver)); everyone else: 403, or 404 outside the route.
ALLOWED = {
    "uketsuke": {"shimin_clerk_designated"},
    "gougi": {"zeimu_approver_designated", "fukushi_approver_designated"},
    "approved": set(),
}


@pytest.fixture
def actors(app, db, catalogue):
    clients = {}
    for name, (office, roles, designated) in ACTORS.items():
        staff, password, secret = make_staff(db, f"{name}@city.example.jp", office, roles)
        staff.mynumber_handler = designated
        db.session.commit()
        client = app.test_client()
        sign_in_staff(client, staff.email, password, secret)
        client.staff = staff
        clients[name] = client
    return clients


def _reveal(client, submission_id: int):
    page = client.get(f"/office/cases/{submission_id}")
    if page.status_code != 200:
        return page
    return client.post(f"/office/cases/{submission_id}/sensitive", data={"csrf_token": csrf_token(page)})


def _events(db, action: str, submission_id: int) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action,
                                                          AuditEvent.subject_id == submission_id)).all()


def _move_to_gougi(db, submission, approve):
    first, _p, _s = make_staff(db, "uketsuke@city.example.jp", "shimin", ["clerk"])
    second, _p, _s = make_staff(db, "shinsa@city.example.jp", "shimin", ["clerk"])
    approve(submission.id, first)
    approve(submission.id, second)


def _approve_all(db, submission, approve):
    _move_to_gougi(db, submission, approve)
    for office in ("zeimu", "fukushi"):
        member, _p, _s = make_staff(db, f"gougi-{office}@city.example.jp", office, ["approver"])
        approve(submission.id, member)
    kessai, _p, _s = make_staff(db, "kessai@city.example.jp", "shimin", ["approver"])
    approve(submission.id, kessai)


@pytest.mark.parametrize("stage", ["uketsuke", "gougi", "approved"])
def test_h3_reveal_access_matrix(db, new_case, actors, approve, stage):
    submission = new_case("tenkyo", "in_review")
    if stage == "gougi":
        _move_to_gougi(db, submission, approve)
    elif stage == "approved":
        _approve_all(db, submission, approve)
        db.session.expire_all()
        assert db.session.get(Submission, submission.id).state == "approved"
    for name, client in actors.items():
        before = len(_events(db, "mynumber.refused", submission.id))
        response = _reveal(client, submission.id)
        html = response.get_data(as_text=True)
        if name == "kodomo_clerk_designated":
            assert response.status_code == 404, name  # not on the route: the case does not exist for them
        elif name in ALLOWED[stage]:
            assert response.status_code == 200 and NUMBER in html, name
        else:
            assert response.status_code == 403 and NUMBER not in html, name
            assert len(_events(db, "mynumber.refused", submission.id)) == before + 1, name
    reads = _events(db, "mynumber.read", submission.id)
    assert sorted(e.actor_id for e in reads) == sorted(actors[n].staff.id for n in ALLOWED[stage])
    assert all(NUMBER not in str(e.data) for e in _events(db, "mynumber.refused", submission.id) + reads)


def test_h3_the_case_page_offers_the_button_only_to_whom_it_works(db, new_case, actors):
    submission = new_case("tenkyo", "in_review")
    designated = actors["shimin_clerk_designated"].get(f"/office/cases/{submission.id}").get_data(as_text=True)
    plain = actors["shimin_clerk"].get(f"/office/cases/{submission.id}").get_data(as_text=True)
    assert "個人番号を表示する" in designated and NUMBER not in designated
    assert "個人番号を表示する" not in plain and "個人番号事務取扱担当者だけが表示できます" in plain


def test_h3_the_resident_sees_refused_attempts_too(app, db, new_case, actors, applicant):
    from tests.support.accounts import sign_in_resident

    submission = new_case("tenkyo", "in_review")
    assert _reveal(actors["zeimu_approver"], submission.id).status_code == 403
    resident = app.test_client()
    sign_in_resident(resident, applicant.email)
    status = resident.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "個人番号の閲覧（拒否されました）" in status
