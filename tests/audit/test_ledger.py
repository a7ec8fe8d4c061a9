"""The audit ledger through ``flask audit`` and the real database: appends, tamper detection, signed
checkpoints, the personal-data guard, concurrent appends and streaming verification."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import sys
import threading

import pytest
import sqlalchemy as sa

from app.audit import checkpoint as checkpoints
from app.audit import service
from app.audit.chain import GENESIS_HASH, canonical_data, entry_hash, format_time, row_hasher
from app.audit.models import AuditEvent
from app.audit.service import events_for_subject, record, verify_chain
from app.db import intending_to_write
from tests.support.plugin import ledger_maintenance

EVENTS = AuditEvent.__table__


def append(db, count: int, *, subject_id: int = 7) -> list[str]:
    """``count`` events in one committed transaction; returns their hashes."""
    hashes = []
    with intending_to_write():
        for i in range(count):
            event = record(
                "case.view",
                actor_type="staff",
                actor_id=100 + i,
                subject_type="submission",
                subject_id=subject_id,
                data={"step": "shinsa", "n": i},
            )
            hashes.append(event.hash)
        db.session.commit()
    return hashes


def tamper(db, *statements) -> None:
    """Change rows behind the service's back, as an owner of the database could (the append-only
    triggers stop anyone else: ``test_l13_...``)."""
    with ledger_maintenance(db.engine) as connection:
        for statement in statements:
            connection.execute(statement)


def audit(runner, *args: str):
    return runner.invoke(args=["audit", *args])


def test_an_appended_chain_verifies(db, runner):
    result = audit(runner, "verify")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"ok: 0 events, head {GENESIS_HASH}"

    hashes = append(db, 12)
    result = audit(runner, "verify")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"ok: 12 events, head {hashes[-1]}"
    rows = db.session.execute(sa.select(AuditEvent.seq, AuditEvent.prev_hash).order_by(AuditEvent.seq)).all()
    assert [r.seq for r in rows] == list(range(1, 13))
    assert rows[0].prev_hash == GENESIS_HASH


def test_an_event_rolls_back_with_its_transaction(db, runner):
    append(db, 2)
    with intending_to_write():
        record("submission.submit", actor_type="resident", actor_id=1, subject_type="submission", subject_id=1)
        db.session.rollback()
    hashes = append(db, 1)  # the rolled-back seq 3 is reused: the sequence stays gapless
    assert db.session.scalar(sa.select(sa.func.max(AuditEvent.seq))) == 3
    result = audit(runner, "verify")
    assert result.exit_code == 0 and result.output.strip() == f"ok: 3 events, head {hashes[-1]}"


def _swap_rows(a: int, b: int):
    parked = 10**9  # seq must stay >= 1 (check constraint), and the primary key unique at every step
    return [
        EVENTS.update().where(EVENTS.c.seq == a).values(seq=parked),
        EVENTS.update().where(EVENTS.c.seq == b).values(seq=a),
        EVENTS.update().where(EVENTS.c.seq == parked).values(seq=b),
    ]


def _swap_contents(db, a: int, b: int):
    fields = ("created_at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "data")
    row_a, row_b = (
        db.session.execute(sa.select(*(EVENTS.c[f] for f in fields)).where(EVENTS.c.seq == seq)).one()._asdict()
        for seq in (a, b)
    )
    db.session.rollback()
    return [
        EVENTS.update().where(EVENTS.c.seq == a).values(**row_b),
        EVENTS.update().where(EVENTS.c.seq == b).values(**row_a),
    ]


@pytest.mark.parametrize(
    ("attack", "broken_seq", "reason"),
    [
        ("edit_data", 5, "hash mismatch"),
        ("edit_action", 9, "hash mismatch"),
        ("edit_created_at", 3, "hash mismatch"),
        ("swap_rows", 4, "prev_hash mismatch"),
        ("swap_contents", 4, "hash mismatch"),
        ("delete_middle", 6, "gap: expected seq 6, found 7"),
        ("delete_first", 1, "gap: expected seq 1, found 2"),
        ("relink", 6, "prev_hash mismatch"),
    ],
)
def test_tampering_breaks_the_chain_at_the_first_changed_entry(db, runner, attack, broken_seq, reason):
    hashes = append(db, 10)
    statements = {
        "edit_data": [EVENTS.update().where(EVENTS.c.seq == 5).values(data={"step": "kessai", "n": 4})],
        "edit_action": [EVENTS.update().where(EVENTS.c.seq == 9).values(action="case.claim")],
        "edit_created_at": [
            EVENTS.update().where(EVENTS.c.seq == 3).values(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        ],
        "swap_rows": _swap_rows(4, 5),
        "swap_contents": _swap_contents(db, 4, 5) if attack == "swap_contents" else [],
        "delete_middle": [EVENTS.delete().where(EVENTS.c.seq == 6)],
        "delete_first": [EVENTS.delete().where(EVENTS.c.seq == 1)],
        # Entry 6 made to follow entry 4 directly, as if 5 never happened.
        "relink": [EVENTS.update().where(EVENTS.c.seq == 6).values(prev_hash=hashes[3])],
    }[attack]
    tamper(db, *statements)

    result = audit(runner, "verify")
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"BROKEN at seq {broken_seq}: {reason}"


def test_a_checkpoint_catches_a_truncated_tail(db, runner, tmp_path):
    append(db, 10)
    cp = tmp_path / "checkpoint.txt"
    result = audit(runner, "checkpoint", "--out", str(cp))
    assert result.exit_code == 0, result.output

    tamper(db, EVENTS.delete().where(EVENTS.c.seq > 7))

    # The first seven entries are still a perfectly valid chain: nothing inside the database remembers
    # that there were ten. That is why checkpoints are kept outside it.
    result = audit(runner, "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 7 events")

    result = audit(runner, "verify", "--checkpoint", str(cp))
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "BROKEN at seq 8: missing: the checkpoint has 10 entries, the ledger 7 (truncated)"


def test_a_checkpoint_catches_a_rewritten_tail(db, runner, tmp_path):
    hashes = append(db, 10)
    cp = tmp_path / "checkpoint.txt"
    assert audit(runner, "checkpoint", "--out", str(cp)).exit_code == 0

    # Whoever can write the database can also recompute every hash after the entry they change.
    rows = db.session.execute(sa.select(EVENTS).where(EVENTS.c.seq >= 6).order_by(EVENTS.c.seq)).mappings().all()
    db.session.rollback()
    prev, statements = hashes[4], []
    for row in rows:
        data = {"step": "kessai", "n": row["data"]["n"]} if row["seq"] == 6 else row["data"]
        fields = {k: row[k] for k in ("created_at", "actor_type", "actor_id", "action", "subject_type", "subject_id")}
        new_hash = entry_hash(row["seq"], *fields.values(), data, prev)
        statements.append(
            EVENTS.update().where(EVENTS.c.seq == row["seq"]).values(data=data, prev_hash=prev, hash=new_hash)
        )
        prev = new_hash
    tamper(db, *statements)

    assert audit(runner, "verify").exit_code == 0, "a recomputed chain is self-consistent"
    result = audit(runner, "verify", "--checkpoint", str(cp))
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "BROKEN at seq 10: does not match the checkpoint head: history was rewritten"


def test_a_checkpoint_stays_valid_as_the_ledger_grows(db, runner, tmp_path):
    hashes = append(db, 5)
    cp, pub = tmp_path / "checkpoint.txt", tmp_path / "audit.pub"
    result = audit(runner, "checkpoint", "--out", str(cp))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"checkpoint: 5 events, head {hashes[-1]} -> {cp}"

    # The file is a C2SP checkpoint in a signed note.
    body, _, signature = cp.read_text(encoding="utf-8").partition("\n\n")
    assert body.split("\n") == ["madoguchi-audit", "5", base64.b64encode(bytes.fromhex(hashes[-1])).decode()]
    assert signature.startswith("\u2014 madoguchi-audit ")

    more = append(db, 3)
    assert audit(runner, "pubkey", "--out", str(pub)).exit_code == 0
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    for extra in ([], ["--pubkey", str(pub)]):
        result = audit(runner, "verify", "--checkpoint", str(cp), *extra)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == f"ok: 8 events, head {more[-1]}, checkpoint 5 ok"


def test_a_forged_checkpoint_is_rejected(db, runner, tmp_path):
    append(db, 6)
    cp = tmp_path / "checkpoint.txt"
    assert audit(runner, "checkpoint", "--out", str(cp)).exit_code == 0
    tamper(db, EVENTS.delete().where(EVENTS.c.seq > 4))

    # The attacker lowers the size to match the truncated ledger but cannot re-sign.
    forged = tmp_path / "forged.txt"
    lines = cp.read_text(encoding="utf-8").split("\n")
    head4 = db.session.scalar(sa.select(AuditEvent.hash).where(AuditEvent.seq == 4))
    lines[1], lines[2] = "4", base64.b64encode(bytes.fromhex(head4)).decode()
    forged.write_text("\n".join(lines), encoding="utf-8")
    result = audit(runner, "verify", "--checkpoint", str(forged))
    assert result.exit_code == 1
    assert result.output.strip() == "BAD CHECKPOINT: checkpoint signature is invalid"

    # Or signs it with a key of their own, under our key name.
    own_key = checkpoints.load_private_key(checkpoints.new_private_pem())
    resigned = tmp_path / "resigned.txt"
    resigned.write_text(checkpoints.sign(own_key, checkpoints.Checkpoint(4, head4)), encoding="utf-8")
    result = audit(runner, "verify", "--checkpoint", str(resigned))
    assert result.exit_code == 1
    assert result.output.strip() == "BAD CHECKPOINT: checkpoint is not signed by this audit key"

    # ... which verifies only against the attacker's own public key, never against ours.
    own_pub = tmp_path / "own.pub"
    own_pub.write_text(checkpoints.public_pem(own_key))
    assert audit(runner, "verify", "--checkpoint", str(cp), "--pubkey", str(own_pub)).exit_code == 1

    garbage = tmp_path / "garbage.txt"
    garbage.write_text("madoguchi-audit\n4\n", encoding="utf-8")
    result = audit(runner, "verify", "--checkpoint", str(garbage))
    assert result.exit_code == 1 and result.output.startswith("BAD CHECKPOINT:")


def test_no_checkpoint_is_signed_for_a_broken_ledger(db, runner, tmp_path):
    append(db, 3)
    tamper(db, EVENTS.update().where(EVENTS.c.seq == 2).values(subject_id=8))
    cp = tmp_path / "checkpoint.txt"
    result = audit(runner, "checkpoint", "--out", str(cp))
    assert result.exit_code == 1
    assert result.output.strip() == "BROKEN at seq 2: hash mismatch (no checkpoint written)"
    assert not cp.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "山田 太郎"},
        {"kana": "ヤマダ"},
        {"email": "taro@example.jp"},
        {"mynumber": "123456789018"},
        {"mynumber": 123456789018},
        {"phone": "090-1234-5678"},
        {"message": "please call me back"},
        {"note": "x" * 129},
        {"nested": {"id": 1}},
        {"amount": 1.5},
        {"ids": [1, "山田"]},
        {"Bad-Key": 1},
    ],
)
def test_personal_data_is_refused(db, data):
    with pytest.raises(ValueError), intending_to_write():
        record("case.view", actor_type="staff", actor_id=1, subject_type="submission", subject_id=1, data=data)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_ids_names_and_hashes_are_accepted(db, runner):
    data = {
        "from": "submitted",
        "to": "in_review",
        "step": None,
        "approval": 3,
        "sealed": True,
        "sha256": "ab" * 32,
        "offices": ["zeimu", "fukushi"],
        "receipt": "7K3M-Q9XZ",
        "form": "juminhyo@3",
    }
    with intending_to_write():
        event = record("submission.approve", actor_type="staff", actor_id=2, subject_type="submission", data=data)
        db.session.commit()
    assert event.seq == 1 and event.data == data
    assert audit(runner, "verify").exit_code == 0
    with pytest.raises(ValueError):
        record("Case View", actor_type="staff", subject_type="submission")
    with pytest.raises(ValueError):
        record("case.view", actor_type="admin", subject_type="submission")


def test_events_for_subject_lists_staff_access_in_order(db):
    append(db, 2, subject_id=1)
    with intending_to_write():
        record("submission.submit", actor_type="resident", actor_id=9, subject_type="submission", subject_id=1)
        record("mynumber.read", actor_type="staff", actor_id=4, subject_type="submission", subject_id=1)
        record("case.view", actor_type="staff", actor_id=4, subject_type="submission", subject_id=2)
        db.session.commit()
    events = events_for_subject("submission", 1)
    assert [(e.seq, e.action, e.actor_id) for e in events] == [
        (1, "case.view", 100),
        (2, "case.view", 101),
        (4, "mynumber.read", 4),
    ]
    assert [e.seq for e in events_for_subject("submission", 1, actor_types=("resident", "staff"))] == [1, 2, 3, 4]


def test_the_orm_refuses_to_change_an_event(db):
    append(db, 1)
    event = db.session.get(AuditEvent, 1)
    event.action = "case.claim"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, 1))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_concurrent_appends_form_one_gapless_chain(app, db):
    """Two threads, each appending 50 events in 50 transactions of its own, on its own connection.

    On PostgreSQL the advisory lock serialises them; on SQLite, BEGIN IMMEDIATE (write intent) does.
    """
    db.session.commit()  # the test's own session holds no transaction while the threads write
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(actor_id: int):
        try:
            with app.app_context():
                barrier.wait()
                for n in range(50):
                    with intending_to_write():
                        record(
                            "case.view", actor_type="staff", actor_id=actor_id, subject_type="submission", subject_id=n
                        )
                        app.extensions["sqlalchemy"].session.commit()
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(actor,)) for actor in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    result = verify_chain()
    assert result.ok and result.count == 100, result
    per_actor = dict(
        db.session.execute(sa.select(AuditEvent.actor_id, sa.func.count()).group_by(AuditEvent.actor_id)).all()
    )
    assert per_actor == {1: 50, 2: 50}


def test_entry_hash_is_sha256_of_canonical_json():
    """The hand-assembled serialisation is exactly the documented canonical JSON, so anyone can
    re-verify the ledger with a few lines of their own."""
    fields = {
        "seq": 42,
        "created_at": dt.datetime(2026, 4, 1, 9, 30, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        "actor_type": "staff",
        "actor_id": None,
        "action": "mynumber.read",
        "subject_type": "submission",
        "subject_id": 3,
        "data": {"field": "mynumber", "b": [1, True, None], "a": "x/y:z"},
        "prev_hash": "f" * 64,
    }
    canonical = json.dumps(
        {**fields, "created_at": "2026-04-01T00:30:00.000007Z"}, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False,
    )  # fmt: skip
    assert entry_hash(*fields.values()) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize("actor_id", [None, 7, 2**40])
@pytest.mark.parametrize("action", ["case.view", "mynumber.read"])
def test_the_verify_hasher_gives_entry_hash(actor_id, action):
    """verify's per-row fast path (cached names, pre-formatted time and data) hashes the same text."""
    created_at = dt.datetime(2026, 4, 1, 9, 30, 0, 7, tzinfo=dt.UTC)
    data = {"z": [1, None, True], "a": "x/y:z", "n": -3}
    hash_row = row_hasher()
    for _ in range(2):  # the second time from the cache of names
        for subject_id in (None, 3):
            expected = entry_hash(5, created_at, "staff", actor_id, action, "sub_ject", subject_id, data, "a" * 64)
            assert hash_row(5, format_time(created_at), "staff", actor_id, action, "sub_ject", subject_id,
                            canonical_data(data), "a" * 64) == expected


def test_verify_streams_in_bounded_memory(db, monkeypatch):
    """20,000 events verified in batches of 500: the memory in use while verifying stays a small
    fraction of what holding every row at once costs, so the nightly verify does not grow with the
    ledger. Memory is sampled at every row as the interpreter's count of allocated blocks (objects):
    tracemalloc would measure the same thing but slows the loop several times over."""
    count, start, prev, rows = 20_000, dt.datetime(2026, 4, 1, tzinfo=dt.UTC), GENESIS_HASH, []
    names = ("seq", "created_at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "data")
    for seq in range(1, count + 1):
        values = (seq, start + dt.timedelta(seconds=seq, microseconds=seq), "staff", seq % 50, "case.view",
                  "submission", seq % 700, {"step": "shinsa", "n": seq})  # fmt: skip
        row = dict(zip(names, values, strict=True), prev_hash=prev)
        prev = row["hash"] = entry_hash(*values, prev)
        rows.append(row)
    db.session.execute(EVENTS.insert(), rows)
    db.session.commit()
    del rows

    peak = [0]

    def sampling_row_hasher():
        hash_row = row_hasher()

        def sampling(*args):
            peak[0] = max(peak[0], sys.getallocatedblocks())
            return hash_row(*args)
        return sampling

    monkeypatch.setattr(service, "row_hasher", sampling_row_hasher)
    before = sys.getallocatedblocks()
    peak[0] = before
    result = verify_chain(batch_size=500)
    streaming = peak[0] - before
    db.session.rollback()
    before = sys.getallocatedblocks()
    everything = db.session.connection().execute(sa.select(EVENTS).order_by(EVENTS.c.seq)).all()
    holding = sys.getallocatedblocks() - before
    del everything
    assert result.ok and result.count == count and result.head == prev
    assert streaming > 0  # sampled: the hook is the one verify calls per row
    assert streaming < holding / 8, (streaming, holding)
