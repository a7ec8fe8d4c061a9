"""The one content-addressed store of bytes: rendered and sealed documents, images of their pages
(for verification), uploaded attachments, and the kinds added after them (letters, fax rasters).

Bytes are stored under their SHA-256, by kind, in one of two backends (``MADOGUCHI_BLOB_STORE``):

- ``filesystem``, the embedded default: the instance folder, one folder per kind
  (``documents/ab/<sha256>.pdf``, ``pages/ab/<sha256>.png``, ``uploads/ab/<sha256>``). A write goes to
  a temporary file that is fsynced and renamed, so a crash leaves the old state or the new one, never
  half a file.
- ``database``: rows in the database every node shares (``blobs``, and ``blob_chunks`` of at most
  ``CHUNK_SIZE`` bytes each), written in the caller's transaction: a job or request that rolls back
  leaves no blob behind, and a blob one node wrote is there for every other node at its commit.

Either way a write is idempotent (the same bytes again are a no-op), bytes move in chunks (an upload is
read from Werkzeug's spooled temporary file a chunk at a time, never held whole to be written), and a
read checks the hash: what comes back is exactly what was stored, or ``BlobCorrupted``.

A read that misses in the configured backend looks in the other one. That is what lets
``flask blobs migrate`` move a running service: nodes switched to the new backend still find what
nodes not yet switched wrote to the old one, and the reverse (app/documents/blob_admin.py).

Adding a kind is one line in ``KINDS``; a column that names blobs of it by hash says so with
``info=app.db.blob_reference(kind)``, and ``flask blobs check`` finds it in the metadata.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from app.db import utcnow
from app.documents.models import Blob, BlobChunk
from app.durable_files import sync_folder, write_atomically
from app.extensions import db

#: kind → suffix of its files in the filesystem backend (the folder is the kind's name).
KINDS = {
    "documents": ".pdf",
    "uploads": "",
    "pages": ".png",
}
#: Bytes per chunk, in reads and writes of both backends: a 10 MB upload is ten statements of 1 MiB.
CHUNK_SIZE = 1024 * 1024
BACKENDS = ("filesystem", "database")


class BlobMissing(LookupError):
    """No blob of that kind and hash is stored."""


class BlobCorrupted(RuntimeError):
    """Stored bytes no longer match their hash (or their recorded size)."""


def checked(chunks: Iterable[bytes], kind: str, sha256: str, size: int | None = None) -> Iterator[bytes]:
    """The chunks, passed through; raises BlobCorrupted at the end if they do not hash to ``sha256``."""
    digest, total = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        total += len(chunk)
        yield chunk
    if digest.hexdigest() != sha256 or (size is not None and total != size):
        raise BlobCorrupted(f"stored {kind} {sha256} does not match its hash")


def _stream_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


class FilesystemBackend:
    """Files under the instance folder."""

    name = "filesystem"

    def __init__(self, root: Path):
        self.root = root

    def path(self, kind: str, sha256: str) -> Path:
        return self.root / kind / sha256[:2] / f"{sha256}{KINDS[kind]}"

    def exists(self, kind: str, sha256: str) -> bool:
        return self.path(kind, sha256).is_file()

    def write(self, kind: str, sha256: str, size: int, chunks: Iterable[bytes]) -> bool:
        """Store the chunks under ``sha256`` unless already there; False if they were."""
        path = self.path(kind, sha256)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, checked(chunks, kind, sha256, size))
        sync_folder(path.parent)  # the rename too must survive a power cut: a committed row will name this file
        return True

    def chunks(self, kind: str, sha256: str) -> Iterator[bytes]:
        try:
            fh = self.path(kind, sha256).open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"{kind} {sha256} is not in the {self.name} store") from None
        with fh:
            yield from _stream_chunks(fh)

    def size(self, kind: str, sha256: str) -> int:
        try:
            return self.path(kind, sha256).stat().st_size
        except FileNotFoundError:
            raise BlobMissing(f"{kind} {sha256} is not in the {self.name} store") from None

    def keys(self, kind: str) -> Iterator[str]:
        """Every stored hash of ``kind``, one folder of 256 at a time."""
        folder = self.root / kind
        if not folder.is_dir():
            return
        suffix = KINDS[kind]
        for subfolder in sorted(p for p in folder.iterdir() if p.is_dir()):
            for path in sorted(subfolder.glob(f"*{suffix}")):
                if not path.name.startswith("."):  # a write in progress (write_atomically's temporary file)
                    yield path.name[: len(path.name) - len(suffix)] if suffix else path.name

    def delete(self, kind: str, sha256: str) -> None:
        self.path(kind, sha256).unlink(missing_ok=True)


class DatabaseBackend:
    """Rows of ``blobs`` and ``blob_chunks``, in the caller's session and transaction."""

    name = "database"

    def exists(self, kind: str, sha256: str) -> bool:
        return db.session.scalar(sa.select(sa.literal(1)).where(Blob.kind == kind, Blob.sha256 == sha256)) is not None

    def write(self, kind: str, sha256: str, size: int, chunks: Iterable[bytes]) -> bool:
        """Store the chunks unless the blob is there; False if it was (or a concurrent writer's commit put it there:
        PostgreSQL makes this INSERT wait for that transaction, then skip)."""
        header = _insert_ignoring_duplicates().values(kind=kind, sha256=sha256, size=size, created_at=utcnow())
        if db.session.execute(header.returning(Blob.sha256)).first() is None:
            return False
        count = 0
        for seq, chunk in enumerate(checked(chunks, kind, sha256, size)):
            db.session.execute(sa.insert(BlobChunk).values(kind=kind, sha256=sha256, seq=seq, data=bytes(chunk)))
            count += 1
        if count == 0:  # empty bytes: chunk 0 still exists, so a blob is never without its chunks
            db.session.execute(sa.insert(BlobChunk).values(kind=kind, sha256=sha256, seq=0, data=b""))
        return True

    def chunks(self, kind: str, sha256: str) -> Iterator[bytes]:
        """One chunk per query: small documents cost one round trip (the size comes with chunk 0), and a
        large blob is never one result set held whole by the driver."""
        first = _first_chunk(kind, sha256)
        if first is None:
            raise BlobMissing(f"{kind} {sha256} is not in the {self.name} store")
        size, chunk = first
        yield chunk
        seen, seq = len(chunk), 1
        while seen < size:
            chunk = _chunk(kind, sha256, seq)
            if chunk is None:
                raise BlobCorrupted(f"stored {kind} {sha256} lacks chunk {seq}")
            yield chunk
            seen, seq = seen + len(chunk), seq + 1

    def size(self, kind: str, sha256: str) -> int:
        size = db.session.scalar(sa.select(Blob.size).where(Blob.kind == kind, Blob.sha256 == sha256))
        if size is None:
            raise BlobMissing(f"{kind} {sha256} is not in the {self.name} store")
        return size

    def keys(self, kind: str) -> Iterator[str]:
        """Every stored hash of ``kind``, a page at a time by key, so the caller may commit between them."""
        last = ""
        while batch := db.session.scalars(sa.select(Blob.sha256).where(Blob.kind == kind, Blob.sha256 > last)
                                          .order_by(Blob.sha256).limit(1000)).all():
            yield from batch
            last = batch[-1]

    def delete(self, kind: str, sha256: str) -> None:
        db.session.execute(sa.delete(BlobChunk).where(BlobChunk.kind == kind, BlobChunk.sha256 == sha256))
        db.session.execute(sa.delete(Blob).where(Blob.kind == kind, Blob.sha256 == sha256))


_FIRST_CHUNK = ("SELECT b.size, c.data FROM blobs b JOIN blob_chunks c ON c.kind = b.kind AND c.sha256 = b.sha256 "
                "WHERE b.kind = %s AND b.sha256 = %s AND c.seq = 0")
_NEXT_CHUNK = "SELECT data FROM blob_chunks WHERE kind = %s AND sha256 = %s AND seq = %s"


def _binary_cursor():
    """A cursor of the session's own connection (same transaction) that takes results in binary: psycopg
    reads bytea as hex text otherwise, twice the bytes on the wire and a decode, ~6x slower per MiB."""
    return db.session.connection().connection.driver_connection.cursor(binary=True)


def _first_chunk(kind: str, sha256: str) -> tuple[int, bytes] | None:
    """(the blob's size, chunk 0), or None if there is no such blob."""
    if db.engine.dialect.name == "postgresql":
        with _binary_cursor() as cursor:
            row = cursor.execute(_FIRST_CHUNK, (kind, sha256)).fetchone()
        return None if row is None else (row[0], bytes(row[1]))
    return db.session.execute(
        sa.select(Blob.size, BlobChunk.data).join(BlobChunk, sa.and_(BlobChunk.kind == Blob.kind,
                                                                     BlobChunk.sha256 == Blob.sha256))
        .where(Blob.kind == kind, Blob.sha256 == sha256, BlobChunk.seq == 0)).first()


def _chunk(kind: str, sha256: str, seq: int) -> bytes | None:
    if db.engine.dialect.name == "postgresql":
        with _binary_cursor() as cursor:
            row = cursor.execute(_NEXT_CHUNK, (kind, sha256, seq)).fetchone()
        return None if row is None else bytes(row[0])
    return db.session.scalar(sa.select(BlobChunk.data).where(BlobChunk.kind == kind, BlobChunk.sha256 == sha256,
                                                             BlobChunk.seq == seq))


def _insert_ignoring_duplicates():
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(Blob).on_conflict_do_nothing(index_elements=["kind", "sha256"])


def backend(name: str | None = None) -> FilesystemBackend | DatabaseBackend:
    """The named backend, or the configured one (``MADOGUCHI_BLOB_STORE``)."""
    name = name or current_app.config["MADOGUCHI_BLOB_STORE"]
    if name == "filesystem":
        return FilesystemBackend(Path(current_app.config["INSTANCE_PATH"]))
    if name == "database":
        return DatabaseBackend()
    raise ValueError(f"no blob backend {name!r}")


def other_backend(name: str) -> FilesystemBackend | DatabaseBackend:
    return backend(next(other for other in BACKENDS if other != name))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"not a blob kind: {kind!r} (app.documents.blobs.KINDS)")


def put(kind: str, data: bytes) -> str:
    """Store ``data`` (durably, or in the current transaction) and return its SHA-256."""
    _check_kind(kind)
    sha256 = hashlib.sha256(data).hexdigest()
    view = memoryview(data)
    pieces = (view[start:start + CHUNK_SIZE] for start in range(0, max(len(view), 1), CHUNK_SIZE))
    backend().write(kind, sha256, len(view), pieces)
    return sha256


def put_stream(kind: str, stream: BinaryIO) -> tuple[str, int]:
    """Store what a seekable binary stream holds, a chunk at a time; return (SHA-256, size).

    Read twice from the start: once to hash (the name must be known before anything is written), once
    to write. An upload is a temporary file by then (Werkzeug spools every file part over 500 KB), so
    neither pass holds more than a chunk.
    """
    _check_kind(kind)
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    for chunk in _stream_chunks(stream):
        digest.update(chunk)
        size += len(chunk)
    sha256 = digest.hexdigest()
    stream.seek(0)
    backend().write(kind, sha256, size, _stream_chunks(stream))
    return sha256, size


def _read(store, kind: str, sha256: str) -> bytes:
    # BytesIO grows in place and getvalue() hands over its buffer without a copy: the blob is in memory once.
    buffer = io.BytesIO()
    for chunk in checked(store.chunks(kind, sha256), kind, sha256):
        buffer.write(chunk)
    return buffer.getvalue()


def get(kind: str, sha256: str) -> bytes:
    """The stored bytes, checked against their hash; from the other backend if the configured one lacks them."""
    _check_kind(kind)
    store = backend()
    try:
        return _read(store, kind, sha256)
    except BlobMissing:
        try:
            return _read(other_backend(store.name), kind, sha256)
        except BlobMissing:
            raise BlobMissing(f"{kind} {sha256} is in neither blob store") from None
