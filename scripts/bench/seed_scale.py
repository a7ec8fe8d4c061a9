"""Seed PostgreSQL with N submissions by COPY, for scripts/bench/scale.py.

Runs on a migrated instance whose catalogue, staff and demo data are already there (``flask demo
seed``): the seeded rows come after them, with ids above theirs, and the audit events continue the
demo's hash chain, so ``flask audit verify`` checks one chain over both.

What each submission gets is what the queue, the status page and verification read:

- a resident (about four submissions each), answers copied from a demo submission of the same form,
  an applicant name, a receipt number, the route pinned from its form version;
- a state that depends on its age: recent cases are mostly open, old ones mostly decided, and a
  backlog of stalled open cases (about a tenth of the old ones) gives the office queue enough depth
  for its 500th page at 100,000 submissions;
- approvals for the route steps it has passed (complete) and the one it is on (pending);
- its history, an approval document with a verification code and a revision;
- audit events matching the history, hashed with ``app.audit.chain.entry_hash``.

Not seeded: the PDFs themselves and seal records (verification is measured on the demo's real,
sealed documents, looked up among the seeded million), jobs and deliveries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg

from app.audit.chain import GENESIS_HASH, entry_hash
from app.documents.codes import ALPHABET as CODE_ALPHABET
from app.fieldcrypt import encrypt_json
from app.submissions.receipts import ALPHABET as RECEIPT_ALPHABET

CHUNK = 20_000
NULL = "\\N"  # COPY's text format for SQL NULL
SUBMISSIONS_PER_RESIDENT = 4
SPAN_DAYS = 730
FAMILY = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水".split()
GIVEN = "太郎 花子 一郎 陽子 健太 美咲 翔 さくら 大輔 由美 誠 恵子 拓也 直子 浩 裕子 隆 明美 修 和子".split()


def psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _esc(text: str) -> str:
    """A value for COPY's text format: backslash, tab and newline are its own syntax."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _ts(value: dt.datetime) -> str:
    return value.isoformat()


def _null(value) -> str:
    return "\\N" if value is None else str(value)


def _unique_codes(rng: random.Random, alphabet: str, length: int, taken: set[str]) -> Callable[[], str]:
    def draw() -> str:
        while True:
            code = "".join(rng.choices(alphabet, k=length))
            if code not in taken:
                taken.add(code)
                return code
    return draw


def _state_for(rng: random.Random, age_days: float) -> str:
    roll = rng.random()
    if age_days < 120:  # recent: mostly still being worked
        table = (("draft", 0.08), ("submitted", 0.04), ("in_review", 0.56), ("returned", 0.07),
                 ("approved", 0.20), ("rejected", 0.03), ("withdrawn", 0.02))
    else:  # old: decided, apart from abandoned drafts and a stalled backlog
        table = (("draft", 0.02), ("submitted", 0.005), ("in_review", 0.10), ("returned", 0.015),
                 ("approved", 0.78), ("rejected", 0.05), ("withdrawn", 0.03))
    for state, share in table:
        roll -= share
        if roll < 0:
            return state
    return "approved"


class _Chain:
    """Audit events continuing the ledger's chain, as COPY lines."""

    def __init__(self, seq: int, head: str):
        self.seq, self.head, self.lines = seq, head, []

    def add(self, at: dt.datetime, actor_type: str, actor_id: int | None, action: str, subject_id: int,
            data: dict) -> None:
        self.seq += 1
        digest = entry_hash(self.seq, at, actor_type, actor_id, action, "submission", subject_id, data, self.head)
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self.lines.append(f"{self.seq}\t{_ts(at)}\t{actor_type}\t{_null(actor_id)}\t{action}\tsubmission\t"
                          f"{subject_id}\t{_esc(text)}\t{self.head}\t{digest}\n")
        self.head = digest


def seed(url: str, count: int, *, field_key: str, seed_value: int = 6, progress=print) -> dict:
    """COPY ``count`` submissions (and their rows) into the database at ``url``; returns row counts."""
    rng = random.Random(seed_value)
    started = time.perf_counter()
    with psycopg.connect(psycopg_url(url)) as conn:
        conn.execute("SET synchronous_commit = off")  # one big load; durability comes at the final commit
        # Foreign-key checks are triggers run row by row, half the cost of the load; the rows are built
        # consistent here, so skip them the way pg_restore does (a superuser setting: else keep them).
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SET session_replication_role = replica")
        ctx = _context(conn)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = now - dt.timedelta(days=SPAN_DAYS)
        receipts = _unique_codes(rng, RECEIPT_ALPHABET, 8, ctx["receipts"])
        codes = _unique_codes(rng, CODE_ALPHABET, 16, ctx["codes"])
        chain = _Chain(ctx["audit_seq"], ctx["audit_head"])
        # In foreign-key order: the COPYs below go table by table.
        ids = {name: ctx[name] for name in ("residents", "submissions", "approvals", "submission_history",
                                            "documents", "document_revisions")}
        totals = dict.fromkeys(ids, 0) | {"audit_events": 0}
        # Python builds the next chunk while PostgreSQL takes the last one: on two cores that overlaps the
        # two halves of the work. One chunk in flight keeps memory bounded.
        with ThreadPoolExecutor(max_workers=1) as copier:
            pending = None
            for chunk_start in range(0, count, CHUNK):
                rows = {name: [] for name in ids}
                chunk = range(chunk_start, min(count, chunk_start + CHUNK))
                for index in chunk:
                    at = start + dt.timedelta(seconds=SPAN_DAYS * 86400 * index / count + rng.random())
                    if index % SUBMISSIONS_PER_RESIDENT == 0:
                        ids["residents"] += 1
                        rows["residents"].append(
                            f"{ids['residents']}\tbench-{ids['residents']}@example.jp\t{ctx['password_hash']}\t"
                            f"{'en' if rng.random() < 0.05 else 'ja'}\t{_ts(at)}\t1\t\\N\t{_ts(at)}\n")
                    _submission(rng, ctx, ids, rows, chain, at, (now - at).total_seconds() / 86400, receipts,
                                codes, field_key)
                rows["audit_events"], chain.lines = chain.lines, []
                if pending is not None:
                    pending.result()
                for name, lines in rows.items():
                    totals[name] += len(lines)
                pending = copier.submit(_copy_chunk, conn, rows)
                progress(f"seeding {chunk.stop:,} submissions ({time.perf_counter() - started:.0f} s)")
            if pending is not None:
                pending.result()
        for name, last in ids.items():
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), %s)", (last,))
        conn.commit()
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        # Fresh statistics and visibility maps, as autovacuum would leave a table this size.
        conn.execute("VACUUM ANALYZE")
    progress(f"seeding done in {time.perf_counter() - started:.0f} s: {totals}")
    return totals


def _context(conn) -> dict:
    ctx: dict = {}
    for table in ("submissions", "residents", "approvals", "submission_history", "documents",
                  "document_revisions"):
        ctx[table] = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    head = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    ctx["audit_seq"], ctx["audit_head"] = head if head else (0, GENESIS_HASH)
    ctx["receipts"] = {r.replace("-", "") for (r,) in conn.execute("SELECT receipt_number FROM submissions "
                                                  "WHERE receipt_number IS NOT NULL")}
    ctx["codes"] = {c for (c,) in conn.execute("SELECT verification_code FROM documents")}
    # Every seeded resident shares the demo's password hash: nobody signs in as them, and hashing a
    # quarter of a million passwords would measure the password hash, not the service.
    ctx["password_hash"] = _esc(conn.execute("SELECT password_hash FROM residents ORDER BY id LIMIT 1").fetchone()[0])
    answers = {}
    for slug, text in conn.execute(
            "SELECT DISTINCT ON (f.slug) f.slug, s.answers::text FROM submissions s JOIN form_versions f "
            "ON f.id = s.form_version_id WHERE s.state <> 'draft' ORDER BY f.slug, s.id"):
        answers[slug] = _esc(json.dumps(json.loads(text), ensure_ascii=False))
    offices = dict(conn.execute("SELECT code, id FROM offices").fetchall())
    staff = {}
    for staff_id, office_id, roles in conn.execute("SELECT id, office_id, roles::text FROM staff"):
        for role in json.loads(roles):
            staff.setdefault((office_id, role), []).append(staff_id)
    ctx["versions"] = []
    for version_id, slug, definition in conn.execute("SELECT id, slug, definition::text FROM form_versions "
                                                     "ORDER BY id"):
        route = json.loads(definition).get("route") or []
        steps = [(step["step"], [offices[c] for c in (step.get("offices") or [step["office"]])], step["role"])
                 for step in route]
        ctx["versions"].append({"id": version_id, "answers": answers.get(slug, "{}"), "steps": steps,
                                "route": _esc(json.dumps(route, ensure_ascii=False))})
    ctx["staff"] = staff
    return ctx


def _copy_chunk(conn, rows: dict[str, list[str]]) -> None:
    for table, lines in rows.items():  # the dict is in foreign-key order
        _copy(conn, table, lines)


def _copy(conn, table: str, lines: list[str]) -> None:
    if not lines:
        return
    with conn.cursor().copy(f"COPY {table} ({', '.join(_ORDER[table])}) FROM STDIN") as copy:
        copy.write("".join(lines).encode())


#: Column order of the COPY lines built below (independent of the table's physical order).
_ORDER = {
    "residents": ["id", "email", "password_hash", "locale", "email_confirmed_at", "session_version",
                  "last_sign_in_at", "created_at"],
    "submissions": ["id", "resident_id", "form_version_id", "state", "receipt_number", "answers", "progress",
                    "sensitive_answers", "applicant_name", "decision_message", "route", "current_step", "round",
                    "filed_by_staff_id", "updated_at", "submitted_at", "decided_at", "created_at"],
    "approvals": ["id", "submission_id", "round", "step_index", "step_key", "office_id", "role", "state",
                  "assignee_id", "decided_by_id", "decided_at", "completed_at", "created_at"],
    "submission_history": ["id", "submission_id", "action", "from_state", "to_state", "actor_type", "actor_id",
                           "message", "step_key", "internal", "created_at"],
    "documents": ["id", "submission_id", "kind", "round", "verification_code", "state", "render_error",
                  "superseded_at", "created_at"],
    "document_revisions": ["id", "document_id", "seq", "sha256", "size", "reason", "created_at"],
    "audit_events": ["seq", "created_at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "data",
                     "prev_hash", "hash"],
}


def _submission(rng, ctx, ids, rows, chain, created, age_days, receipts, codes, field_key) -> None:
    ids["submissions"] += 1
    sid, resident = ids["submissions"], ids["residents"]
    version = rng.choice(ctx["versions"])
    state = _state_for(rng, age_days)
    name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
    history = rows["submission_history"]

    def event(at, action, from_state, to_state, actor_type, actor_id, step=None, audit_data=None):
        ids["submission_history"] += 1
        history.append(f"{ids['submission_history']}\t{sid}\t{action}\t{_null(from_state)}\t{to_state}\t"
                       f"{actor_type}\t{_null(actor_id)}\t\\N\t{_null(step)}\tf\t{_ts(at)}\n")
        data = audit_data if audit_data is not None else {"from": from_state, "to": to_state}
        chain.add(at, actor_type, actor_id, f"submission.{action}", sid, data)

    if state == "draft":
        rows["submissions"].append(
            f"{sid}\t{resident}\t{version['id']}\tdraft\t\\N\t{version['answers']}\t"
            '{"completed": [], "pending": {}}\t\\N\t\\N\t\\N\t\\N\t\\N\t0\t\\N\t'
            f"{_ts(created)}\t\\N\t\\N\t{_ts(created)}\n")
        return
    submitted = created + dt.timedelta(minutes=5 + rng.random() * 30)
    event(submitted, "submit", "draft", "submitted", "resident", resident)
    steps = version["steps"]
    current = at = None
    decided = None
    clock = submitted
    if state != "submitted" and not (state == "withdrawn" and rng.random() < 0.5):
        clock += dt.timedelta(seconds=2)
        event(clock, "enter_route", "submitted", "in_review", "system", None, audit_data={
            "from": "submitted", "to": "in_review", "step": None})
        ids["documents"] += 1
        doc_id = ids["documents"]
        rows["documents"].append(f"{doc_id}\t{sid}\tapproval\t1\t{codes()}\tcurrent\t\\N\t\\N\t{_ts(clock)}\n")
        ids["document_revisions"] += 1
        rows["document_revisions"].append(
            f"{ids['document_revisions']}\t{doc_id}\t1\t{rng.getrandbits(256):064x}\t{rng.randint(40_000, 90_000)}"
            f"\trendered\t{_ts(clock)}\n")
        # How far along the route: the whole way when approved, somewhere on it otherwise.
        reached = len(steps) if state == "approved" else rng.randrange(len(steps))
        for index, (step_key, offices, role) in enumerate(steps[: reached + 1]):
            opened = clock
            if index < reached:
                clock += dt.timedelta(hours=rng.uniform(1, 72))
            for office in offices:
                ids["approvals"] += 1
                actor = rng.choice(ctx["staff"].get((office, role)) or [None])
                if index < reached:
                    rows["approvals"].append(
                        f"{ids['approvals']}\t{sid}\t1\t{index}\t{step_key}\t{office}\t{role}\tcomplete\t\\N\t"
                        f"{_null(actor)}\t{_ts(clock)}\t{_ts(clock)}\t{_ts(opened)}\n")
                    event(clock, "approve", "in_review", "in_review", "staff", actor, step_key,
                          {"step": step_key, "approval": ids["approvals"]})
                else:
                    final = "pending" if state == "in_review" else "superseded"
                    rows["approvals"].append(
                        f"{ids['approvals']}\t{sid}\t1\t{index}\t{step_key}\t{office}\t{role}\t{final}\t\\N\t"
                        f"\\N\t\\N\t\\N\t{_ts(opened)}\n")
            if index == reached and state == "in_review":
                current = index
        at = clock
    if state in ("approved", "rejected", "returned", "withdrawn"):
        decided = (at or submitted) + dt.timedelta(hours=rng.uniform(1, 48))
        action = {"approved": "approve", "rejected": "reject", "returned": "return", "withdrawn": "withdraw"}[state]
        from_state = "in_review" if at else "submitted"
        actor_type, actor_id = ("resident", resident) if state == "withdrawn" else (
            ("system", None) if state == "approved" else ("staff", rng.choice(ctx["staff"].get((1, "clerk"), [None]))))
        event(decided, action, from_state, state, actor_type, actor_id)
    sensitive = "\\N"
    if rng.random() < 0.02:  # the few forms that ask for My Number keep it encrypted, bound to the row
        blob = encrypt_json({"my_number": f"{rng.randrange(10**12):012d}"}, secret=field_key,
                            context=f"submission:{sid}")
        sensitive = "\\\\x" + blob.hex()
    updated = decided or at or submitted
    rows["submissions"].append(
        f"{sid}\t{resident}\t{version['id']}\t{state}\t{_receipt(receipts)}\t{version['answers']}\t"
        f"{{}}\t{sensitive}\t{name}\t\\N\t{version['route'] if at else NULL}\t{_null(current)}\t"
        f"{1 if at else 0}\t\\N\t{_ts(updated)}\t{_ts(submitted)}\t"
        f"{_ts(decided) if state in ('approved', 'rejected') else NULL}\t{_ts(created)}\n")


def _receipt(draw: Callable[[], str]) -> str:
    symbols = draw()
    return f"{symbols[:4]}-{symbols[4:]}"
