"""Append to the ledger, verify it, look events up, and sign checkpoints with the configured key.

``record`` flushes and never commits: the event commits or rolls back with the change it records.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.audit import checkpoint as checkpoints
from app.audit.chain import (
    ACTOR_TYPES,
    GENESIS_HASH,
    canonical_data,
    check_data,
    check_id,
    check_name,
    entry_hash,
    format_time,
    row_hasher,
)
from app.audit.models import AuditEvent
from app.db import utcnow
from app.extensions import db

#: Key of the PostgreSQL transaction-level advisory lock that serialises appends ("madoaudi").
APPEND_LOCK_KEY = 0x6D61646F61756469


def record(
    action: str,
    *,
    actor_type: str,
    actor_id: int | None = None,
    subject_type: str,
    subject_id: int | None = None,
    data: Mapping | None = None,
) -> AuditEvent:
    """Append one event in the current transaction and flush it.

    ``data`` holds ids, action and state names and hashes only; anything that may be personal data
    (names, e-mail addresses, free text, numbers shaped like a My Number) raises ValueError, so a
    careless caller fails in tests rather than writing a name into a ledger that is never rewritten.

    Appends are serialised so that two transactions never read the same head (the chain would fork):
    on PostgreSQL by a transaction-level advisory lock, held until commit or rollback, and taken before
    the head is read (READ COMMITTED, the default, then reads the head its predecessor committed); on
    SQLite by the database's single writer lock, which callers hold from the start of the transaction
    by writing with ``app.db.write_intent`` set (POST requests, the worker, CLI commands). Should
    either ever fail, the primary key on ``seq`` turns a fork into an IntegrityError, never a branch.
    Because the lock lasts until commit, record the event late in a transaction and commit promptly.
    """
    if actor_type not in ACTOR_TYPES:
        raise ValueError(f"audit actor_type must be one of {ACTOR_TYPES}, not {actor_type!r}")
    check_name("action", action)
    check_name("subject_type", subject_type)
    check_id("actor_id", actor_id)
    check_id("subject_id", subject_id)
    payload = check_data(data)

    session = db.session
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
    # Autoflush puts this transaction's earlier events in first, so they count as the head.
    head = session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    created_at = utcnow()
    event = AuditEvent(
        seq=seq,
        created_at=created_at,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=payload,
        prev_hash=prev_hash,
        hash=entry_hash(seq, created_at, actor_type, actor_id, action, subject_type, subject_id, payload, prev_hash),
    )
    session.add(event)
    session.flush()
    return event


def events_for_subject(subject_type: str, subject_id: int, actor_types: Iterable[str] = ("staff",)) -> list[AuditEvent]:
    """Events about one record by the given kinds of actor, oldest first ("who looked at my submission")."""
    query = (
        sa.select(AuditEvent)
        .where(
            AuditEvent.subject_type == subject_type,
            AuditEvent.subject_id == subject_id,
            AuditEvent.actor_type.in_(list(actor_types)),
        )
        .order_by(AuditEvent.seq)
    )
    return list(db.session.scalars(query))


# ---- verification -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    #: Entries read and found valid (all of them when ``ok``).
    count: int
    #: Hash of the last valid entry (64 zeros for an empty ledger).
    head: str
    #: The first entry found broken, and why.
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(*, checkpoint: Mapping | None = None, batch_size: int = 5000) -> VerifyResult:
    """Check the whole chain in one pass, in constant memory: seq gapless from 1, each ``prev_hash``
    equal to the previous entry's hash, each hash recomputed from the row.

    With ``checkpoint`` (``{"size": N, "head": HEX}``, from a verified signed checkpoint) also check
    that the ledger still has at least N entries and that entry N is the checkpointed head, which a
    truncated or rewritten tail cannot satisfy.

    Rows are streamed (a server-side cursor on PostgreSQL, read ahead by a thread) as plain tuples of
    text and numbers, turned into the hashed text here, so a mangled row is reported by its seq
    instead of failing the query.
    """
    cp_size = int(checkpoint["size"]) if checkpoint else 0
    cp_head = str(checkpoint["head"]).lower() if checkpoint else None
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # The server formats the time exactly as chain.format_time does (UTC, microseconds, "Z"), in its
        # own process: a datetime object per row is the costliest part of reading a row in Python.
        created_at = sa.func.to_char(sa.func.timezone("UTC", AuditEvent.created_at),
                                     'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    else:
        # SQLite keeps the naive UTC text SQLAlchemy wrote; it is parsed per row below.
        created_at = sa.type_coerce(AuditEvent.created_at, sa.String())
    columns = (
        AuditEvent.seq, created_at, AuditEvent.actor_type, AuditEvent.actor_id, AuditEvent.action,
        AuditEvent.subject_type, AuditEvent.subject_id, sa.cast(AuditEvent.data, sa.Text), AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    query = sa.select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)

    expected, prev = 1, GENESIS_HASH

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(ok=False, count=expected - 1, head=prev, broken_seq=seq, reason=reason)

    # Canonical text of recently seen ``data`` values: most events share a handful of shapes, and the
    # canonical form is a pure function of the stored text. Cleared when full, so memory stays bounded.
    canonical: dict[str, str] = {}
    loads, encode, to_time, hash_of = json.loads, canonical_data, dt.datetime.fromisoformat, row_hasher()
    # A Core connection, not the ORM session: rows stay plain tuples, with no ORM processing per row.
    # Closed on every way out: an early return must not leave a server-side cursor open.
    if postgres:
        # psycopg's own server-side cursor: its rows are tuples built in C, where SQLAlchemy would wrap
        # each in a Row; at a million rows that wrapping costs more than the hashing.
        sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        result = connection.connection.driver_connection.cursor(name="audit_verify")
        result.execute(sql)
        batches = _read_ahead(iter(lambda: result.fetchmany(batch_size), []))
    else:
        result = connection.execute(query)
        batches = result.partitions()
    try:
        for batch in batches:
            for seq, created, actor_type, actor_id, action, subject_type, subject_id, data, prev_hash, stored in batch:
                if seq != expected:
                    return broken(expected, f"gap: expected seq {expected}, found {seq}")
                if prev_hash != prev:
                    return broken(seq, "prev_hash mismatch")
                try:
                    text = canonical.get(data)
                    if text is None:
                        if len(canonical) >= 4096:
                            canonical.clear()
                        text = canonical[data] = encode(loads(data))
                    if not postgres:
                        created = format_time(to_time(created))
                    computed = hash_of(seq, created, actor_type, actor_id, action, subject_type, subject_id, text,
                                       prev_hash)
                except (ValueError, TypeError, AttributeError) as exc:
                    return broken(seq, f"unreadable entry ({type(exc).__name__})")
                if computed != stored:
                    return broken(seq, "hash mismatch")
                if seq == cp_size and stored != cp_head:
                    return broken(seq, "does not match the checkpoint head: history was rewritten")
                prev = stored
                expected += 1
    finally:
        if postgres:
            batches.close()
        result.close()

    count = expected - 1
    if count < cp_size:
        return broken(count + 1, f"missing: the checkpoint has {cp_size} entries, the ledger {count} (truncated)")
    return VerifyResult(ok=True, count=count, head=prev)


def _read_ahead(source, depth: int = 2):
    """The batches of ``source``, fetched by a thread while the caller hashes the previous ones.

    PostgreSQL produces rows in its own process and psycopg waits for them without the GIL, so reading
    ahead overlaps the two instead of alternating. At most ``depth`` batches wait, so memory stays
    bounded; closing the generator stops the thread before the caller closes the cursor.
    """
    batches: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def fetch() -> None:
        try:
            for batch in source:
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item = done
        except BaseException as exc:  # handed to the caller, which raises it
            item = exc
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=fetch, name="audit-verify-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = batches.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


# ---- checkpoints with the configured key -------------------------------------------------------------


def audit_key():
    """The Ed25519 private key of ``MADOGUCHI_AUDIT_KEY`` (only command-line processes are given it)."""
    pem = current_app.config.get("MADOGUCHI_AUDIT_KEY")
    if not pem:
        raise checkpoints.CheckpointError(
            f"a {current_app.config.get('MADOGUCHI_PROCESS', 'web')} process holds no audit key "
            "(MADOGUCHI_AUDIT_KEY is given only to the command line)")
    return checkpoints.load_private_key(pem)


def signed_checkpoint() -> tuple[VerifyResult, str | None]:
    """Verify the chain, then sign its head: a checkpoint must never vouch for a broken ledger.

    The head signed is the one the verifying scan ended on (one statement, one snapshot), so an event
    appended meanwhile cannot slip in unverified. Returns the result and the note (None when broken).
    """
    result = verify_chain()
    if not result.ok:
        return result, None
    note = checkpoints.sign(audit_key(), checkpoints.Checkpoint(size=result.count, head=result.head))
    return result, note


def read_checkpoint(text: str, public_pem: bytes | str | None = None) -> checkpoints.Checkpoint:
    """A checkpoint whose signature verifies with ``public_pem`` (default: the configured key's public half)."""
    public_key = checkpoints.load_public_key(public_pem) if public_pem is not None else audit_key().public_key()
    return checkpoints.open_signed(text, public_key)
