"""The blob store on both backends: idempotent writes by SHA-256, chunked reads and writes, reads that
check the hash, the fallback that keeps reads working while a store is moved, and what a rolled-back
transaction leaves (nothing, in the database)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import tracemalloc

import pytest
import sqlalchemy as sa
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from app.documents import blobs
from app.documents.models import Blob, BlobChunk

CHUNK = blobs.CHUNK_SIZE


@pytest.fixture(params=blobs.BACKENDS)
def store(request, app, db, monkeypatch):
    """The blob store configured with each backend in turn; yields the backend's name."""
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", request.param)
    return request.param


def chunk_rows(db, sha256: str) -> list[int]:
    return list(db.session.scalars(sa.select(sa.func.length(BlobChunk.data)).where(BlobChunk.sha256 == sha256)
                                   .order_by(BlobChunk.seq)))


def test_put_get_round_trip_in_chunks_and_idempotent(db, store):
    data = os.urandom(2 * CHUNK + 12345)
    sha256 = blobs.put("documents", data)
    assert sha256 == hashlib.sha256(data).hexdigest()
    assert blobs.put("documents", data) == sha256  # the same bytes again: a no-op
    db.session.commit()
    assert blobs.get("documents", sha256) == data
    assert blobs.backend().exists("documents", sha256)
    assert blobs.backend(blobs.BACKENDS[0] if store != blobs.BACKENDS[0] else blobs.BACKENDS[1]) \
        .exists("documents", sha256) is False  # written to the configured backend only
    if store == "database":
        assert chunk_rows(db, sha256) == [CHUNK, CHUNK, 12345]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Blob)) == 1


def test_empty_bytes_and_kinds(db, store):
    sha256 = blobs.put("uploads", b"")
    db.session.commit()
    assert blobs.get("uploads", sha256) == b""
    with pytest.raises(blobs.BlobMissing):
        blobs.get("documents", sha256)  # content-addressed per kind
    with pytest.raises(ValueError, match="not a blob kind"):
        blobs.put("letters-not-yet", b"x")


def test_a_read_checks_the_hash(app, db, store):
    data = os.urandom(CHUNK + 10)
    sha256 = blobs.put("documents", data)
    db.session.commit()
    if store == "database":
        db.session.execute(sa.update(BlobChunk).where(BlobChunk.sha256 == sha256, BlobChunk.seq == 1)
                           .values(data=b"\x00" * 10))
        db.session.commit()
    else:
        path = blobs.backend().path("documents", sha256)
        flipped = bytearray(path.read_bytes())
        flipped[-1] ^= 1
        path.write_bytes(bytes(flipped))
    try:
        with pytest.raises(blobs.BlobCorrupted, match=sha256):
            blobs.get("documents", sha256)
    finally:
        if store == "filesystem":  # the session's instance folder outlives this test (flask blobs migrate)
            path.unlink()


def test_a_read_falls_back_to_the_other_backend(app, db, store, monkeypatch):
    """What one backend lacks is read from the other: nodes being moved between backends keep serving."""
    other = next(name for name in blobs.BACKENDS if name != store)
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", other)
    data = os.urandom(5000)
    sha256 = blobs.put("uploads", data)
    db.session.commit()
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", store)
    assert not blobs.backend().exists("uploads", sha256)
    assert blobs.get("uploads", sha256) == data
    with pytest.raises(blobs.BlobMissing, match="neither"):
        blobs.get("uploads", hashlib.sha256(b"never stored").hexdigest())


def test_a_rolled_back_transaction_leaves_no_blob_rows(db, monkeypatch, app):
    monkeypatch.setitem(app.config, "MADOGUCHI_BLOB_STORE", "database")
    sha256 = blobs.put("documents", os.urandom(3000))
    db.session.rollback()
    assert not blobs.backend().exists("documents", sha256)
    assert chunk_rows(db, sha256) == []


def test_a_stream_that_changes_between_hashing_and_writing_is_refused(db, store):
    class Shifty(io.BytesIO):
        """Gives other bytes on the second pass, as a file rewritten under the store would."""

        passes = 0

        def seek(self, *args):
            self.passes += 1
            if self.passes == 2:
                self.write(b"changed")
            return super().seek(*args)

    data = os.urandom(4000)
    with pytest.raises(blobs.BlobCorrupted):
        blobs.put_stream("uploads", Shifty(data))
    db.session.rollback()
    assert not blobs.backend().exists("uploads", hashlib.sha256(data).hexdigest())


def test_a_10_mb_upload_is_never_whole_in_memory(db, store):
    """Werkzeug spools the file part to a temporary file; the store reads it a chunk at a time. Python's
    allocations while parsing and storing stay a few chunks, not the upload's size (twice or once)."""
    size = 10 * 1024 * 1024
    with tempfile.TemporaryFile() as source:
        for _ in range(size // CHUNK):
            source.write(os.urandom(CHUNK))
        source.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
        source.seek(0)
        builder = EnvironBuilder(method="POST", data={"file": (source, "big.pdf", "application/pdf")})
        environ = builder.get_environ()  # the multipart body: a spooled temporary file of its own
        tracemalloc.start()
        try:
            _stream, _form, files = parse_form_data(environ)
            sha256, stored = blobs.put_stream("uploads", files["file"].stream)
            db.session.commit()
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        files["file"].close()
        environ["wsgi.input"].close()
        builder.close()
    assert (sha256, stored) == (digest.hexdigest(), size)
    assert peak < 4 * CHUNK, f"peak {peak / CHUNK:.1f} MiB while storing a 10 MiB upload"
    if store == "database":
        assert len(chunk_rows(db, sha256)) == 10
