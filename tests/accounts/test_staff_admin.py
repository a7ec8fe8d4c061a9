"""The administrator's staff page: list every office's staff, create one (the initial password is
shown once), stop and restart accounts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.accounts.models import Staff
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff

ADMIN = "admin@example.lg.jp"
PAGE = "/office/admin/staff"


@pytest.fixture
def admin_client(client, db):
    _staff, password, secret = make_staff(db, ADMIN, "shimin", ["admin"], name="山本 管理者")
    sign_in_staff(client, ADMIN, password, secret)
    return client


def _staff(db, email: str) -> Staff:
    db.session.expire_all()
    return db.session.scalar(sa.select(Staff).where(Staff.email == email))


def test_lists_staff_of_every_office(admin_client, db):
    make_staff(db, "zeimu@example.lg.jp", "zeimu", ["approver"], name="高橋 誠")
    make_staff(db, "kodomo@example.lg.jp", "kodomo", ["clerk", "counter_clerk"], name="小林 愛", enrolled=False)
    html = admin_client.get(PAGE).get_data(as_text=True)
    for text in ("山本 管理者", "高橋 誠", "小林 愛", "zeimu@example.lg.jp", "税務課", "こども家庭課", "未設定"):
        assert text in html, text
    assert "職員の一覧（3人）" in html
    # One button per other account, each with its own accessible name.
    assert html.count('停止する<span class="visually-hidden">') == 2
    assert 'id="csrf_token"' in html and html.count('id="csrf_token"') == 1  # no duplicate ids


def test_m5_create_staff_mails_an_enrolment_link_and_shows_no_password(admin_client, app, db):
    page = admin_client.get(PAGE)
    response = admin_client.post(PAGE, data={
        "csrf_token": csrf_token(page), "email": " Sato@Example.LG.jp ", "display_name": "佐藤　花子",
        "office": "fukushi", "roles": ["clerk", "approver"],
    })  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert "initial-password" not in html and "登録用のリンクをメールで送りました" in html
    link = re.search(r'id="enrolment-link">([^<]+)<', html).group(1)  # development shows it too

    staff = _staff(db, "sato@example.lg.jp")
    assert staff.display_name == "佐藤 花子"
    assert staff.office.code == "fukushi"
    assert staff.roles == ["clerk"] and staff.pending_roles == ["approver"]  # four-eyes on the approver role
    assert staff.is_active and not staff.is_enrolled and staff.password_set_at is None

    # The member sets the password with the link, then is sent to enrol an authenticator.
    other = app.test_client()
    path = urlsplit(link).path
    response = other.post(path, data={"csrf_token": csrf_token(other.get(path)),
                                      "password": "a member's very own phrase",
                                      "password_confirm": "a member's very own phrase"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/office/enrol")


def test_m5_enrolment_links_are_not_shown_in_production(admin_client, app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_ENV", "production")
    page = admin_client.get(PAGE)
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(page), "email": "p@example.lg.jp",
                                             "display_name": "P", "office": "shimin", "roles": ["clerk"]})
    assert response.status_code == 201
    assert "enrolment-link" not in response.get_data(as_text=True)


def test_m5_approver_and_admin_roles_need_a_second_administrator(admin_client, app, db):
    from app.audit.models import AuditEvent

    member, _p, _s = make_staff(db, "member@example.lg.jp", "shimin", ["clerk"])
    page = admin_client.get(f"{PAGE}/{member.id}")
    changed = admin_client.post(f"{PAGE}/{member.id}", data={"csrf_token": csrf_token(page),
                                                             "roles": ["clerk", "approver"]})
    assert changed.status_code == 302
    assert _staff(db, "member@example.lg.jp").roles == ["clerk"]
    assert _staff(db, "member@example.lg.jp").pending_roles == ["approver"]
    # The administrator who asked cannot confirm it.
    own = admin_client.post(f"{PAGE}/{member.id}/confirm-roles", data={"csrf_token": csrf_token(page)})
    assert own.status_code == 302 and _staff(db, "member@example.lg.jp").roles == ["clerk"]
    # A second administrator can.
    _second, password, secret = make_staff(db, "second@example.lg.jp", "shimin", ["admin"])
    second = app.test_client()
    sign_in_staff(second, "second@example.lg.jp", password, secret)
    listing = second.get(PAGE)
    assert "確認待ちの役割の付与（1件）" in listing.get_data(as_text=True)
    confirmed = second.post(f"{PAGE}/{member.id}/confirm-roles", data={"csrf_token": csrf_token(listing)})
    assert confirmed.status_code == 302
    assert _staff(db, "member@example.lg.jp").roles == ["clerk", "approver"]
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.subject_id == member.id,
                                                                     AuditEvent.subject_type == "staff")).all()
    assert {"staff.roles_change", "staff.roles_confirm"} <= set(actions)


def test_h3_an_administrator_designates_my_number_handlers_but_not_themselves(admin_client, db):
    member, _p, _s = make_staff(db, "member@example.lg.jp", "shimin", ["clerk"])
    page = admin_client.get(f"{PAGE}/{member.id}")
    assert admin_client.post(f"{PAGE}/{member.id}/mynumber-handler/on",
                             data={"csrf_token": csrf_token(page)}).status_code == 302
    assert _staff(db, "member@example.lg.jp").mynumber_handler
    me = _staff(db, ADMIN)
    refused = admin_client.post(f"{PAGE}/{me.id}/mynumber-handler/on", data={"csrf_token": csrf_token(page)},
                                follow_redirects=True)
    assert "ご自身を個人番号事務取扱担当者に指定することはできません" in refused.get_data(as_text=True)
    assert not _staff(db, ADMIN).mynumber_handler


def test_create_staff_explains_every_problem(admin_client, db):
    page = admin_client.get(PAGE)
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("メールアドレスを入力してください。", "氏名を入力してください。", "所属する課を選んでください。",
                    "役割を1つ以上選んでください。"):  # fmt: skip
        assert message in html, message
    for target in ("email", "display_name", "office", "roles"):
        assert f'href="#{target}"' in html and f'id="{target}"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 1


def test_create_staff_refuses_a_taken_address_and_an_unknown_office(admin_client, db):
    page = admin_client.get(PAGE)
    data = {"csrf_token": csrf_token(page), "email": "ADMIN@example.lg.jp", "display_name": "別人",
            "office": "shimin", "roles": ["clerk"]}  # fmt: skip
    response = admin_client.post(PAGE, data=data)
    assert response.status_code == 422
    assert "このメールアドレスの職員は既に登録されています。" in response.get_data(as_text=True)

    response = admin_client.post(PAGE, data={**data, "email": "new@example.lg.jp", "office": "nowhere"})
    assert response.status_code == 422
    assert "課の指定が正しくありません" in response.get_data(as_text=True)

    response = admin_client.post(PAGE, data={**data, "email": "new@example.lg.jp", "roles": ["superuser"]})
    assert response.status_code == 422
    assert "役割の指定が正しくありません" in response.get_data(as_text=True)
    assert _staff(db, "new@example.lg.jp") is None


def test_create_needs_a_csrf_token(admin_client, db):
    response = admin_client.post(PAGE, data={"email": "x@example.lg.jp", "display_name": "x", "office": "shimin",
                                             "roles": ["admin"]})  # fmt: skip
    assert response.status_code == 400
    assert _staff(db, "x@example.lg.jp") is None


def test_deactivate_and_reactivate(admin_client, app, db):
    _clerk, password, secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk"])
    clerk_id = _staff(db, "clerk@example.lg.jp").id
    version = _staff(db, "clerk@example.lg.jp").session_version

    page = admin_client.get(PAGE)
    assert admin_client.post(f"{PAGE}/{clerk_id}/deactivate").status_code == 400  # no CSRF token
    response = admin_client.post(f"{PAGE}/{clerk_id}/deactivate", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    clerk = _staff(db, "clerk@example.lg.jp")
    assert not clerk.is_active and clerk.deactivated_at is not None
    assert clerk.session_version == version + 1
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert "アカウントを停止しました" in html and "停止中" in html

    response = admin_client.post(f"{PAGE}/{clerk_id}/reactivate", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    clerk = _staff(db, "clerk@example.lg.jp")
    assert clerk.is_active and clerk.deactivated_at is None
    sign_in_staff(app.test_client(), "clerk@example.lg.jp", password, secret)


def test_an_admin_cannot_stop_their_own_account(admin_client, db):
    admin_id = _staff(db, ADMIN).id
    page = admin_client.get(PAGE)
    response = admin_client.post(f"{PAGE}/{admin_id}/deactivate", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert _staff(db, ADMIN).is_active
    assert "ご自身のアカウントは停止できません" in admin_client.get(PAGE).get_data(as_text=True)


def test_unknown_account_is_404(admin_client, db):
    page = admin_client.get(PAGE)
    assert admin_client.post(f"{PAGE}/999999/deactivate", data={"csrf_token": csrf_token(page)}).status_code == 404


def test_only_admins_may_stop_accounts(client, db):
    _clerk, password, secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk", "approver"])
    make_staff(db, "other@example.lg.jp", "shimin", ["clerk"])
    other_id = _staff(db, "other@example.lg.jp").id
    sign_in_staff(client, "clerk@example.lg.jp", password, secret)
    page = client.get("/")
    response = client.post(f"{PAGE}/{other_id}/deactivate", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403
    assert _staff(db, "other@example.lg.jp").is_active
    data = {"csrf_token": csrf_token(page), "email": "evil@example.lg.jp", "display_name": "x", "office": "shimin",
            "roles": ["admin"]}  # fmt: skip
    assert client.post(PAGE, data=data).status_code == 403
    assert _staff(db, "evil@example.lg.jp") is None


def test_office_pages_show_who_is_signed_in(admin_client):
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert "山本 管理者（市民課）" in html
    assert 'action="/office/sign-out"' in html


def test_account_changes_and_sign_ins_are_in_the_audit_ledger(admin_client, db):
    from app.audit.models import AuditEvent

    admin_id = _staff(db, ADMIN).id
    page = admin_client.get(PAGE)
    admin_client.post(PAGE, data={"csrf_token": csrf_token(page), "email": "new@example.lg.jp", "display_name": "新人",
                                  "office": "zeimu", "roles": ["clerk"]})  # fmt: skip
    new_id = _staff(db, "new@example.lg.jp").id
    admin_client.post(f"{PAGE}/{new_id}/deactivate", data={"csrf_token": csrf_token(page)})

    events = [(e.action, e.actor_type, e.actor_id, e.subject_id, e.data) for e in
              db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))]  # fmt: skip
    assert ("staff.sign_in", "staff", admin_id, admin_id, {"enrolled_now": False}) in events
    created = next(e for e in events if e[0] == "staff.create" and e[3] == new_id)
    assert created[1:3] == ("staff", admin_id)
    assert created[4]["roles"] == ["clerk"]
    assert ("staff.deactivate", "staff", admin_id, new_id, {}) in events
    assert not any("new@example.lg.jp" in str(e) or "新人" in str(e) for e in events)
