"""Keeping the blob store whole: ``check`` (every referenced blob there and matching its hash) and
``migrate`` (move every blob to the other backend while the service runs).

Which columns name blobs is read from the metadata (``info=app.db.blob_reference(kind)``), so a table
added by any domain is checked without this module knowing it.

Moving a running service from one backend to the other, with no downtime for reads (docs/deploy.md):

1. ``flask blobs migrate --to database`` copies every blob (each read back through its hash) while the
   nodes still run on ``filesystem``;
2. the nodes are restarted one by one with ``MADOGUCHI_BLOB_STORE=database``. Meanwhile old nodes
   write files and new nodes write rows, and a read that misses in a node's own backend looks in the
   other (``blobs.get``), so every node finds every blob;
3. ``flask blobs migrate --to database`` again copies what old nodes wrote during step 2;
   ``flask blobs check`` then proves the new backend alone is complete; ``--delete-source`` frees
   the old copies once no node runs the old setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.documents import blobs
from app.documents.blobs import BlobCorrupted, BlobMissing
from app.extensions import db


@dataclass(frozen=True)
class Reference:
    """A column that names blobs of ``kind`` by their SHA-256."""

    table: sa.Table
    column: sa.Column
    kind: str

    def __str__(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def references() -> list[Reference]:
    """Every column of the metadata marked as naming a blob, in table order."""
    return [Reference(table, column, column.info["blob_kind"])
            for table in db.metadata.sorted_tables for column in table.columns if "blob_kind" in column.info]


def _referenced(kind: str) -> Iterator[str]:
    """Each hash that some column names for ``kind``, once."""
    columns = [ref.column for ref in references() if ref.kind == kind]
    if not columns:
        return
    union = sa.union(*(sa.select(column.label("sha256")).where(column.is_not(None)) for column in columns))
    # A server-side cursor on PostgreSQL: closed however the caller stops reading.
    rows = db.session.scalars(sa.select(union.subquery().c.sha256).execution_options(yield_per=1000))
    try:
        yield from rows
    finally:
        rows.close()


def _named_by(kind: str, sha256: str) -> str:
    """Where the first row that names a blob is: 'document_revisions.sha256 (id 12)'."""
    for ref in references():
        if ref.kind != kind:
            continue
        keys = list(ref.table.primary_key.columns)
        row = db.session.execute(sa.select(*keys).where(ref.column == sha256).limit(1)).first()
        if row is not None:
            return f"{ref} ({', '.join(f'{key.name} {value}' for key, value in zip(keys, row, strict=True))})"
    return "no row"


@dataclass
class CheckResult:
    backend: str
    counts: dict[str, int] = field(default_factory=dict)
    #: The first problem, in words; None when every referenced blob is there and matches.
    problem: str | None = None


def check(backend_name: str | None = None) -> CheckResult:
    """Read every referenced blob from one backend (the configured one by default; no fallback to the other),
    hashing as it streams; stop at the first that is missing or does not match."""
    store = blobs.backend(backend_name)
    result = CheckResult(store.name)
    for kind in blobs.KINDS:
        result.counts[kind] = 0
        with contextlib.closing(_referenced(kind)) as hashes:
            for sha256 in hashes:
                result.problem = _problem(store, kind, sha256)
                if result.problem:
                    return result
                result.counts[kind] += 1
    return result


def _problem(store, kind: str, sha256: str) -> str | None:
    """What is wrong with one referenced blob in ``store``, in words; None if it is there and matches."""
    try:
        for _chunk in blobs.checked(store.chunks(kind, sha256), kind, sha256):
            pass
    except BlobMissing:
        elsewhere = blobs.other_backend(store.name)
        hint = (f"; it is in the {elsewhere.name} store: run flask blobs migrate --to {store.name}"
                if elsewhere.exists(kind, sha256) else "")
        return f"MISSING {kind} {sha256}, named by {_named_by(kind, sha256)}: not in the {store.name} store{hint}"
    except BlobCorrupted:
        return (f"CORRUPTED {kind} {sha256}, named by {_named_by(kind, sha256)}: "
                f"the {store.name} store's bytes do not match the hash")
    return None


@dataclass
class MigrateResult:
    copied: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    deleted: int = 0
    #: The first blob that could not be copied (corrupted in the source), in words.
    problem: str | None = None


def migrate(target_name: str, *, delete_source: bool = False,
            progress: Callable[[str], None] = lambda _line: None) -> MigrateResult:
    """Copy every blob of the other backend that ``target_name`` lacks, each verified through its hash and
    committed on its own; with ``delete_source``, remove each source copy once the target has it.

    Safe to run while nodes serve, and to run again: what is there already is skipped. A blob whose
    source bytes do not match their hash is not copied; the rest are, and the first such is reported.
    """
    target = blobs.backend(target_name)
    source = blobs.other_backend(target_name)
    result = MigrateResult()
    for kind in blobs.KINDS:
        result.copied[kind] = result.present[kind] = 0
        for sha256 in source.keys(kind):
            if target.exists(kind, sha256):
                result.present[kind] += 1
            else:
                try:
                    target.write(kind, sha256, source.size(kind, sha256), source.chunks(kind, sha256))
                    db.session.commit()
                except (BlobCorrupted, BlobMissing) as exc:
                    db.session.rollback()
                    result.problem = result.problem or f"{kind} {sha256} not copied: {exc}"
                    continue
                result.copied[kind] += 1
            if delete_source:
                source.delete(kind, sha256)
                db.session.commit()
                result.deleted += 1
        progress(f"{kind}: {result.copied[kind]} copied to {target.name}, {result.present[kind]} already there")
    return result
