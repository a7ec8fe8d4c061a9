"""The catalogue in tests: the built-in one synced, the tests' own forms (``forms/``), and a small valid
definition to break one thing at a time."""

from __future__ import annotations

from pathlib import Path

from app.catalogue.service import built_in_catalogue_dir, sync_catalogue
from app.cli import catalogue_references

#: Forms of the tests only: ``delivery-test`` (one destination of each channel, two of them external).
TEST_FORMS = Path(__file__).with_name("forms")
#: The delivery-test form's external destinations, all consented to.
DELIVERY_CONSENTS = {"homukyoku": True, "kaigo-hikari": True}


def sync_built_in(db):
    """The built-in offices, destinations and forms, as ``flask catalogue sync`` loads them; committed."""
    report = sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    db.session.commit()
    return report


def sync_test_forms(db):
    """The built-in catalogue and the tests' own forms; committed."""
    report = sync_catalogue([built_in_catalogue_dir(), TEST_FORMS], catalogue_references())
    db.session.commit()
    return report


def minimal_definition(**changes) -> dict:
    """A small valid definition to break one thing at a time."""
    definition = {
        "slug": "test-form",
        "version": 1,
        "title": {"ja": "テスト", "en": "Test"},
        "office": "shimin",
        "retention_years": 1,
        "declaration": {"ja": "間違いありません。"},
        "pages": [
            {
                "id": "first",
                "title": {"ja": "一"},
                "fields": [
                    {
                        "name": "colour",
                        "type": "radio",
                        "label": {"ja": "色"},
                        "options": [{"value": "red", "label": {"ja": "赤"}}, {"value": "blue", "label": {"ja": "青"}}],
                    },
                    {"name": "agree", "type": "yesno", "label": {"ja": "同意"}},
                ],
            },
            {
                "id": "second",
                "title": {"ja": "二"},
                "fields": [{"name": "note", "type": "text", "label": {"ja": "メモ"}}],
            },
        ],
        "route": [{"step": "kessai", "name": {"ja": "決裁"}, "office": "shimin", "role": "approver"}],
    }
    definition.update(changes)
    return definition
