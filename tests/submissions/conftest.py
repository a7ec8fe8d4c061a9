from __future__ import annotations

import pytest

from tests.support.accounts import make_resident, sign_in_resident


@pytest.fixture
def resident(db, catalogue):
    return make_resident(db, "hanako@example.jp")


@pytest.fixture
def resident_client(app, resident):
    client = app.test_client()
    sign_in_resident(client, resident.email)
    return client


@pytest.fixture
def definitions(app, catalogue):
    from app.catalogue.service import published_forms

    return {form.slug: form.definition for form in published_forms()}
