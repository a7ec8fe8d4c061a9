"""The route inventory: every URL rule of the app, with who may call it. A new route without an entry
fails here, and each entry's claim is checked against the app for an anonymous visitor, a resident, a
clerk and an administrator (object-level rules — the owner, the office — are the access-matrix tests':
tests/submissions/test_access.py, tests/workflow/test_office_access.py, tests/workflow/test_mynumber_access.py).

Who: ``anyone``; ``link`` (anyone holding a link sent by mail); ``resident`` (signed in; object routes:
only the owner); ``staff`` (any signed-in staff member; case routes: only offices on the route);
``staff:<role>|<role>`` (holding one of the roles); ``staff-pending`` (between password and code);
``development`` (development only, from this machine only).
"""

from __future__ import annotations

import pytest
from werkzeug.routing import BuildError

from tests.support.accounts import make_resident, sign_in_resident
from tests.support.http import csrf_token
from tests.support.staff import make_staff, sign_in_staff

ACCESS = {
    "static": "anyone",
    "health.healthz": "anyone",
    "web.index": "anyone",
    "web.set_language": "anyone",
    "web.session_status": "anyone",
    "web.extend_session": "anyone",
    "api.index": "anyone",
    "verify_api.api_verify": "anyone",
    "verify.verify_form": "anyone",
    "verify.verify_by_code": "anyone",
    "verify.crl": "anyone",
    "verify.root_crl": "anyone",
    "verify.root_pem": "anyone",
    "verify.page_image": "anyone",
    "about.contact": "anyone",
    "about.privacy": "anyone",
    "about.accessibility": "anyone",
    "submissions.form_start": "anyone",
    "accounts.sign_up": "anyone",
    "accounts.sign_in": "anyone",
    "accounts.sign_out": "anyone",
    "accounts.check_email": "anyone",
    "accounts.reset_request": "anyone",
    "accounts.resend_confirmation": "anyone",
    "accounts.confirm": "link",
    "accounts.reset_password": "link",
    "accounts.account": "resident",
    "submissions.start": "resident",
    "submissions.resume": "resident",
    "submissions.page": "resident",
    "submissions.check": "resident",
    "submissions.submit": "resident",
    "submissions.discard": "resident",
    "submissions.mine": "resident",
    "submissions.status": "resident",
    "submissions.confirmation": "resident",
    "submissions.withdraw": "resident",
    "submissions.attachment": "resident",
    "submissions.document": "resident",
    "staff_auth.sign_in": "anyone",
    "staff_auth.sign_out": "anyone",
    "staff_auth.session_status": "anyone",
    "staff_auth.enrol_link": "link",
    "staff_auth.code": "staff-pending",
    "staff_auth.enrol": "staff-pending",
    "staff_auth.extend_session": "staff",
    "staff_auth.change_password": "staff",
    "office.queue_view": "staff",
    "office.case": "staff",
    "office.comment": "staff",
    "office.reveal_sensitive": "staff",  # and only a designated handler of the current step (H3)
    "office.attachment": "staff",
    "office.document": "staff",
    "office.claim": "staff:clerk|approver",
    "office.approve": "staff:clerk|approver",
    "office.return_case": "staff:clerk|approver",
    "office.reject": "staff:clerk|approver",
    "office.reassign": "staff:clerk|approver|admin",
    "deliveries.index": "staff",
    "deliveries.retry_view": "staff",
    "staff_admin.staff_list": "staff:admin",
    "staff_admin.member": "staff:admin",
    "staff_admin.confirm_roles": "staff:admin",
    "staff_admin.withdraw_roles": "staff:admin",
    "staff_admin.designate": "staff:admin",
    "staff_admin.resend_enrolment_link": "staff:admin",
    "staff_admin.deactivate_staff": "staff:admin",
    "staff_admin.reactivate_staff": "staff:admin",
    "destinations_admin.index": "staff:admin",
    "destinations_admin.edit": "staff:admin",
    "destinations_admin.confirm": "staff:admin",
    "destinations_admin.withdraw": "staff:admin",
    "dev_mail.index": "development",
    "dev_mail.show": "development",
    "dev_webhook.receive_webhook": "development",
}

VALUES = {"submission_id": 999999, "attachment_id": 1, "staff_id": 999999, "destination_id": 999999,
          "delivery_id": 999999, "token": "x", "code": "ABCD-EFGH-JKMN-PQRS", "slug": "juminhyo",
          "page_id": "x", "kind": "receipt", "name": "x", "filename": "x.css", "state": "on", "number": 1}
VALUES_BY_ENDPOINT = {"accounts.check_email": {"kind": "reset"}}


def _rules(app):
    return [rule for rule in app.url_map.iter_rules()]


KINDS = {"anyone", "link", "resident", "staff", "staff-pending", "development"}


def test_every_route_is_in_the_inventory(app):
    assert all(who in KINDS or who.startswith("staff:") for who in ACCESS.values())
    endpoints = {rule.endpoint for rule in _rules(app)}
    missing = sorted(endpoints - set(ACCESS))
    assert not missing, f"routes without an entry in ACCESS (say who may call them): {missing}"
    assert not sorted(set(ACCESS) - endpoints), "entries for routes that no longer exist"


def _calls(app):
    for rule in _rules(app):
        values = {arg: VALUES_BY_ENDPOINT.get(rule.endpoint, VALUES).get(arg, VALUES.get(arg))
                  for arg in rule.arguments}
        with app.test_request_context():
            try:
                from flask import url_for

                url = url_for(rule.endpoint, **values)
            except BuildError as exc:  # pragma: no cover - a new converter: give VALUES an example
                raise AssertionError(f"{rule.endpoint}: add an example value for {rule.arguments}") from exc
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _send(client, method: str, url: str, token: str, **kwargs):
    response = client.get(url, **kwargs) if method == "GET" else client.post(url, data={"csrf_token": token},
                                                                              **kwargs)
    response.close()
    return response


def _to_sign_in(response, where: str) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith(where)


@pytest.fixture
def people(app, db, catalogue):
    resident = app.test_client()
    make_resident(db, "hanako@example.jp")
    sign_in_resident(resident, "hanako@example.jp")
    clerks, admins = app.test_client(), app.test_client()
    clerk, password, secret = make_staff(db, "clerk@example.lg.jp", "shimin", ["clerk"])
    sign_in_staff(clerks, clerk.email, password, secret)
    admin, password, secret = make_staff(db, "admin@example.lg.jp", "shimin", ["admin"])
    sign_in_staff(admins, admin.email, password, secret)
    return {"anonymous": app.test_client(), "resident": resident, "clerk": clerks, "admin": admins}


def test_each_route_lets_in_whom_the_inventory_says(app, db, people):
    tokens = {name: csrf_token(client.get("/verify")) for name, client in people.items()}
    wrong = []
    for endpoint, method, url in _calls(app):
        who = ACCESS[endpoint]
        if who in ("anyone", "link") or endpoint == "web.set_language":
            continue  # nothing to keep anyone out of (their own rules are tested where they live)
        for person, client in people.items():
            if who == "development":
                outside = _send(client, method, url, tokens[person], environ_base={"REMOTE_ADDR": "203.0.113.5"})
                if outside.status_code != 404:
                    wrong.append((endpoint, method, person, "answered a client outside this machine"))
                continue
            response = _send(client, method, url, tokens[person])
            staff_route = who.startswith("staff")
            roles = who.partition(":")[2].split("|") if ":" in who else []
            if who == "resident":
                expected_out = person != "resident"
                out = _to_sign_in(response, "/account/sign-in")
            elif who == "staff-pending":
                expected_out = True  # nobody here is half signed in
                out = _to_sign_in(response, "/office/sign-in") or response.status_code == 302
            elif staff_route:
                holds = {"clerk": ["clerk"], "admin": ["admin"]}.get(person)
                expected_out = holds is None or bool(roles and not set(roles) & set(holds))
                out = _to_sign_in(response, "/office/sign-in") or response.status_code == 403
            if out != expected_out:
                wrong.append((endpoint, method, person, response.status_code))
    assert not wrong, wrong
