"""Prepared work for the submit benchmark: residents signed in, drafts ready to submit, and wrk's Lua data.

One draft is filled through the real portal pages (validation and normalisation of every field, as
a resident types them); that draft's answers and progress are then copied into as many drafts as
the rounds can consume, spread over residents. Each resident gets a session cookie and a CSRF token
made by the app itself (``sign_in`` and Flask-WTF's ``generate_csrf`` under the instance's secret),
exactly what a browser holds after signing in, so the measured POST is the resident's real submit.
Signing in over HTTP is not used here: it is rate limited per address (10/minute), as it should be.
"""

from __future__ import annotations

import re
from pathlib import Path

SLUG = "juminhyo"  # no upload or My Number: its answers can be copied between drafts as they are


def lua_string(text: str) -> str:
    """A Lua long-bracket-free literal: cookies, paths and bodies are ASCII without quotes or backslashes."""
    if any(ch in text for ch in "\"\\\n"):
        raise ValueError("unexpected character in a request part")
    return f'"{text}"'


def write_lua_data(path: Path, entries: list[tuple[str, str, str]]) -> None:
    """A Lua chunk returning {{path, cookie, body}, ...} for wrk (read once per wrk thread)."""
    lines = ["return {"]
    lines += [f"{{{lua_string(p)},{lua_string(c)},{lua_string(b)}}}," for p, c, b in entries]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


class Prepared:
    """Residents with session cookies, and a pool of complete drafts; ``take(n)`` hands out unused ones."""

    def __init__(self, app, *, residents: int = 64):
        self.app = app
        self.residents = residents
        self.sessions: dict[int, tuple[str, str]] = {}  # resident id → (cookie value, CSRF form token)
        self.template: tuple[int, dict, dict] | None = None  # form_version_id, answers, progress
        self.pool: list[tuple[int, int]] = []  # (submission id, resident id), not yet handed out

    # ---- residents and sessions ---------------------------------------------------------------

    def make_residents(self) -> None:
        from app.accounts.models import Resident
        from app.accounts.service import hash_password
        from app.db import utcnow
        from app.extensions import db

        with self.app.app_context():
            password = hash_password("bench password, never used to sign in")
            people = [Resident(email=f"bench{n}@example.jp", password_hash=password, locale="ja",
                               email_confirmed_at=utcnow()) for n in range(self.residents)]
            db.session.add_all(people)
            db.session.commit()
            ids = [(person.id, person.session_version) for person in people]
        # Outside that app context: Flask-WTF caches the token on ``g``, which a request context would
        # share with an enclosing app context, handing every resident the first one's token.
        for ident, version in ids:
            self.sessions[ident] = self._session_for(ident, version)

    def _session_for(self, ident: int, version: int) -> tuple[str, str]:
        from flask import session
        from flask_wtf.csrf import generate_csrf

        from app.accounts.models import Resident
        from app.accounts.session import sign_in

        with self.app.test_request_context("/"):
            sign_in(Resident(id=ident, session_version=version))
            token = generate_csrf()
            cookie = self.app.session_interface.get_signing_serializer(self.app).dumps(dict(session))
        return cookie, token

    # ---- drafts ---------------------------------------------------------------------------------

    def fill_template(self) -> None:
        """Fill one draft through the pages, as a resident would, and keep its answers and progress."""
        from app.extensions import db
        from app.submissions.models import Submission
        from tests.support.filing import fill_pages
        from tests.support.http import csrf_token

        resident_id = next(iter(self.sessions))
        cookie, _token = self.sessions[resident_id]
        client = self.app.test_client()
        client.set_cookie(self.app.config["SESSION_COOKIE_NAME"], cookie)
        start = client.get(f"/forms/{SLUG}")
        response = client.post(f"/forms/{SLUG}/start", data={"csrf_token": csrf_token(start)})
        location = response.headers["Location"]
        with self.app.app_context():
            draft_id = int(re.search(r"/drafts/(\d+)/", location).group(1))
            definition = db.session.get(Submission, draft_id).form_version.definition
        fill_pages(client, location, definition)  # through the real pages, with their validation
        with self.app.app_context():
            draft = db.session.get(Submission, draft_id)
            self.template = (draft.form_version_id, dict(draft.answers), dict(draft.progress))
            db.session.delete(draft)  # the copies are the drafts; this one would sit unused
            db.session.commit()

    def add_drafts(self, count: int) -> None:
        """Copy the template into ``count`` more drafts, round-robin over the residents (batched inserts)."""
        import sqlalchemy as sa

        from app.db import utcnow
        from app.extensions import db
        from app.submissions.models import Submission

        version_id, answers, progress = self.template
        residents = list(self.sessions)
        with self.app.app_context():
            first = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Submission.id), 0))) + 1
            now = utcnow()
            rows = [{"id": first + n, "resident_id": residents[n % len(residents)], "form_version_id": version_id,
                     "state": "draft", "answers": answers, "progress": progress, "round": 0,
                     "created_at": now, "updated_at": now} for n in range(count)]
            for start in range(0, count, 2000):
                db.session.execute(sa.insert(Submission), rows[start:start + 2000])
            db.session.commit()
            if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequence past them
                db.session.execute(sa.text(
                    "SELECT setval(pg_get_serial_sequence('submissions', 'id'), (SELECT max(id) FROM submissions))"))
                db.session.commit()
        self.pool += [(row["id"], row["resident_id"]) for row in rows]

    def take(self, count: int) -> list[tuple[str, str, str]]:
        """wrk entries (path, Cookie header, body) for ``count`` unused drafts."""
        if count > len(self.pool):
            self.add_drafts(count - len(self.pool))
        taken, self.pool = self.pool[:count], self.pool[count:]
        name = self.app.config["SESSION_COOKIE_NAME"]
        entries = []
        for submission_id, resident_id in taken:
            cookie, token = self.sessions[resident_id]
            entries.append((f"/drafts/{submission_id}/submit", f"{name}={cookie}",
                            f"csrf_token={token}&declaration=y"))
        return entries

    def submitted_count(self) -> int:
        import sqlalchemy as sa

        from app.extensions import db
        from app.submissions.models import Submission

        with self.app.app_context():
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Submission)
                                      .where(Submission.state != "draft"))
            db.session.rollback()
            return count


