"""`flask blobs check` and `flask blobs migrate` through the real CLI, on a case the worker rendered."""

from __future__ import annotations

import sqlalchemy as sa

from app.documents import blob_admin, blobs
from app.documents.models import DocumentRevision
from app.extensions import db as _db


def test_every_column_that_names_a_blob_says_so(app):
    """A new table with a ``*sha256`` column must mark it (``info=blob_reference(kind)``) so that
    ``flask blobs check`` covers it; the store's own tables are the exception."""
    hash_columns = {f"{table.name}.{column.name}" for table in _db.metadata.sorted_tables
                    for column in table.columns if column.name == "sha256" or column.name.endswith("_sha256")}
    store_tables = {"blobs.sha256", "blob_chunks.sha256"}
    marked = {str(ref) for ref in blob_admin.references()}
    assert hash_columns - store_tables == marked
    assert {"document_revisions.sha256", "attachments.sha256", "deliveries.document_sha256",
            "seal_records.signed_revision_sha256", "seal_records.result_revision_sha256"} <= marked
    assert {ref.kind for ref in blob_admin.references()} <= set(blobs.KINDS)


def blobs_cli(runner, *args: str):
    _db.session.commit()  # the command runs in its own session: it must see the test's rows
    return runner.invoke(args=["blobs", *args])


def test_check_then_migrate_both_ways(app, db, new_case, runner, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", "filesystem")
    submission = new_case("juminhyo", "in_review")
    revision_ids = db.session.scalars(sa.select(DocumentRevision.id)).all()
    assert revision_ids

    result = blobs_cli(runner, "check")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok:") and "filesystem" in result.output

    # The database backend has nothing yet: the first missing blob is named, with where it is.
    result = blobs_cli(runner, "check", "--backend", "database")
    assert result.exit_code == 1
    assert result.output.startswith("MISSING documents ")
    assert "named by document_revisions.sha256 (id " in result.output
    assert "it is in the filesystem store: run flask blobs migrate --to database" in result.output

    result = blobs_cli(runner, "migrate", "--to", "database")
    assert result.exit_code == 0, result.output
    assert "documents: " in result.output and " copied to database" in result.output
    assert blobs_cli(runner, "check", "--backend", "database").exit_code == 0
    again = blobs_cli(runner, "migrate", "--to", "database")
    assert "documents: 0 copied to database" in again.output  # a second run skips what is there

    # Switched to the database, then moved back with the database copies deleted.
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", "database")
    assert blobs_cli(runner, "check").exit_code == 0
    result = blobs_cli(runner, "migrate", "--to", "filesystem", "--delete-source")
    assert result.exit_code == 0, result.output
    assert "source copies deleted" in result.output
    assert blobs_cli(runner, "check", "--backend", "filesystem").exit_code == 0
    assert blobs_cli(runner, "check", "--backend", "database").exit_code == 1
    # Reads fall back to the filesystem meanwhile: the case's document is still there for the configured store.
    sha256 = db.session.get(DocumentRevision, revision_ids[0]).sha256
    assert blobs.get("documents", sha256)
    assert submission.receipt_number


def test_check_names_a_corrupted_blob(app, db, new_case, runner, monkeypatch):
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", "filesystem")
    new_case("juminhyo", "in_review")
    revision = db.session.scalars(sa.select(DocumentRevision).order_by(DocumentRevision.id)).first()
    path = blobs.backend().path("documents", revision.sha256)
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        result = blobs_cli(runner, "check")
        assert result.exit_code == 1
        assert result.output.startswith(f"CORRUPTED documents {revision.sha256}, named by document_revisions.sha256")
    finally:
        path.write_bytes(original)  # the session's instance folder outlives this test
