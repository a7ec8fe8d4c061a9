from __future__ import annotations

import pytest
from flask_migrate import upgrade  # noqa: F401  (the session app fixture has already migrated)

from app.accounts.models import Resident
from app.accounts.service import hash_password
from app.catalogue.service import built_in_catalogue_dir, sync_catalogue
from app.db import utcnow
from tests.helpers import csrf_token

PASSWORD = "correct horse battery"


@pytest.fixture
def catalogue(db):
    sync_catalogue([built_in_catalogue_dir()])
    db.session.commit()


def make_resident(db, email: str, locale: str = "ja") -> Resident:
    resident = Resident(email=email, password_hash=hash_password(PASSWORD), locale=locale,
                        email_confirmed_at=utcnow())
    db.session.add(resident)
    db.session.commit()
    return resident


def sign_in(client, email: str) -> None:
    page = client.get("/account/sign-in")
    response = client.post("/account/sign-in", data={"csrf_token": csrf_token(page), "email": email,
                                                     "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def resident(db, catalogue):
    return make_resident(db, "hanako@example.jp")


@pytest.fixture
def resident_client(app, resident):
    client = app.test_client()
    sign_in(client, resident.email)
    return client


@pytest.fixture
def definitions(app, catalogue):
    from app.catalogue.service import published_forms

    return {form.slug: form.definition for form in published_forms()}
