#!/usr/bin/env python3
"""Memory: the resident set of a web worker under use, and the peak of the render process.

Targets (issue 6), no baseline:
- A web worker < 200 MB RSS: gunicorn with 2 workers on a demo instance (as scripts/run starts it),
  driven for a while by three clients at once — a resident (portal pages, status pages, the approval
  PDF, and real submits through the check page), a clerk (the queue and case pages) and someone checking
  approved documents by their verification code (the signatures validated in the worker) — while this
  script reads each worker's VmRSS from /proc every half second. Reported: the largest seen.
- A render process < 400 MB: the peak RSS (VmHWM) of ``RenderPool``'s child after it has rendered the
  approval document of every demo form and a 10-page document.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import benchlib

from tests.support.http import CSRF_RE, free_port


class Client:
    """A browser: cookies, CSRF tokens from the page's form, redirects followed."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode("utf-8", "replace")

    def post(self, path: str, fields: dict[str, str], token_from: str | None = None) -> str:
        page = self.get(token_from or path)
        match = CSRF_RE.search(page)
        if match is None:
            raise RuntimeError(f"no CSRF token on {token_from or path}")
        body = urllib.parse.urlencode({"csrf_token": match.group(1), **fields}).encode()
        with self.opener.open(self.base + path, data=body, timeout=30) as response:
            return response.read().decode("utf-8", "replace")


def staff_totp(email: str) -> str:
    import pyotp

    from app.accounts.staff_service import TOTP_INTERVAL
    from app.demo.staff import DEMO_STAFF

    secret = next(s for e, _n, _o, _r, s in DEMO_STAFF if e == email)
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).now()


def new_draft(app) -> int:
    """A complete 住民票 draft for the demo resident, made in-process (filling it page by page is not the point)."""
    import sqlalchemy as sa

    from app.accounts.models import Resident
    from app.demo import DEMO_RESIDENTS
    from app.demo.answers import fill
    from app.extensions import db

    for attempt in range(10):
        with app.app_context():
            try:
                resident = db.session.scalar(sa.select(Resident).where(Resident.email == DEMO_RESIDENTS[0][0]))
                draft_id = fill(resident, "juminhyo").id
                db.session.commit()
                return draft_id
            except sa.exc.OperationalError:  # SQLite: a worker holds the write lock; this is not the server's error
                db.session.rollback()
                if attempt == 9:
                    raise
        time.sleep(0.05)
    raise AssertionError("unreachable")


def demo_ids(app) -> tuple[list[tuple[int, str]], list[int], list[str]]:
    """For the pages the clients visit: the demo resident's (submission id, state), every case id past
    draft, and the verification codes of the approved documents."""
    import sqlalchemy as sa

    from app.accounts.models import Resident
    from app.demo import DEMO_RESIDENTS
    from app.documents.models import Document
    from app.extensions import db
    from app.submissions.models import Submission

    with app.app_context():
        resident_id = db.session.scalar(sa.select(Resident.id).where(Resident.email == DEMO_RESIDENTS[0][0]))
        own = db.session.execute(sa.select(Submission.id, Submission.state).where(
            Submission.resident_id == resident_id, Submission.state != "draft")).all()
        cases = db.session.scalars(sa.select(Submission.id).where(Submission.state.in_(
            ["submitted", "in_review", "approved", "returned", "rejected"]))).all()
        codes = db.session.scalars(sa.select(Document.verification_code).join(Submission).where(
            Document.kind == "approval", Document.state == "current", Submission.state == "approved")).all()
    return [tuple(row) for row in own], list(cases), list(codes)


def workers(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def web_worker(instance: benchlib.Instance, seconds: float) -> benchlib.Result:
    from app.demo import DEMO_PASSWORD, DEMO_RESIDENTS

    app = instance.app()
    own, cases, verification_codes = demo_ids(app)
    base = instance.env["MADOGUCHI_BASE_URL"]
    bind = base.removeprefix("http://")
    command = [str(benchlib.VENV_BIN / "gunicorn"), "--bind", bind, "--workers", "2", "--graceful-timeout", "5"]
    if "--no-control-socket" in subprocess.run(command[:1] + ["--help"], capture_output=True, text=True).stdout:
        command.append("--no-control-socket")  # gunicorn 25+ would open one under ~/.gunicorn
    log = instance.folder / "gunicorn.log"  # a file, not a pipe: an unread pipe would block the server
    log_file = log.open("w")
    server = subprocess.Popen([*command, "app:create_app()"], env=instance.env, cwd=benchlib.ROOT,
                              stdout=subprocess.DEVNULL, stderr=log_file)
    peaks: dict[int, float] = {}
    stop = threading.Event()
    errors: list[str] = []
    counts = {"resident": 0, "clerk": 0, "submits": 0, "verifications": 0}
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + "/healthz", timeout=1).close()
                break
            if server.poll() is not None:
                raise SystemExit(f"memory bench: gunicorn exited: {log.read_text()[-2000:]}")
            time.sleep(0.2)

        resident = Client(base)
        resident.post("/account/sign-in", {"email": DEMO_RESIDENTS[0][0], "password": DEMO_PASSWORD})
        clerk = Client(base)
        clerk.post("/office/sign-in", {"email": "suzuki@city.example.lg.jp", "password": "madoguchi-staff-2026"})
        clerk.post("/office/sign-in/code", {"code": staff_totp("suzuki@city.example.lg.jp")})
        if "sign-in" in clerk.get("/office/").split("<title>")[1][:200]:
            raise SystemExit("memory bench: the clerk could not sign in")

        def resident_loop() -> None:
            pages = ["/", "/forms/juminhyo", "/submissions"] + [f"/submissions/{i}" for i, _state in own]
            # The resident's copies: the sealed decision where approved, else the receipt (受付控).
            pages += [f"/submissions/{i}/documents/{'approval' if state == 'approved' else 'receipt'}.pdf"
                      for i, state in own if state != "withdrawn"]
            while not stop.is_set():
                try:
                    for page in pages:
                        resident.get(page)
                        counts["resident"] += 1
                    draft = new_draft(app)
                    resident.post(f"/drafts/{draft}/submit", {"declaration": "y"}, token_from=f"/drafts/{draft}/check")
                    counts["submits"] += 1
                except Exception as exc:  # noqa: BLE001 - reported, and the run goes on
                    errors.append(f"resident: {type(exc).__name__}: {exc}")

        def clerk_loop() -> None:
            pages = ["/office/"] + [f"/office/cases/{i}" for i in cases]
            while not stop.is_set():
                try:
                    for page in pages:
                        clerk.get(page)
                        counts["clerk"] += 1
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"clerk: {type(exc).__name__}: {exc}")

        def public_loop() -> None:
            # Anyone holding a printout checks it: the PDF's signatures are validated in the web worker.
            # Every 3 s, under the page's limit of 30 a minute per address.
            public = Client(base)
            while not stop.wait(3):
                try:
                    public.get(f"/verify/{verification_codes[counts['verifications'] % len(verification_codes)]}")
                    counts["verifications"] += 1
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"verify: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=resident_loop), threading.Thread(target=clerk_loop)]
        if verification_codes:
            threads.append(threading.Thread(target=public_loop))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for pid in workers(server.pid):
                with contextlib.suppress(OSError, ValueError):
                    peaks[pid] = max(peaks.get(pid, 0.0), benchlib.rss_mb(pid))
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        server.terminate()
        server.wait(15)
        log_file.close()
    if errors:
        print(f"memory bench: {len(errors)} client error(s), first: {errors[0]}", file=sys.stderr)
    if not peaks or counts["submits"] == 0:
        raise SystemExit(f"memory bench: no load reached the workers ({counts}, errors: {errors[:3]})")
    print(f"memory bench: web workers {sorted(peaks)}, requests: {counts}", file=sys.stderr)
    largest = max(peaks.values())
    return benchlib.Result(f"web worker RSS (largest of {len(peaks)}, {sum(counts.values())} requests)",
                           round(largest, 1), None, "MB", None, None, "< 200 MB", largest < 200)


def ten_pages(html: str) -> str:
    """The approval document's body five times over, each copy from a new page: about ten pages."""
    head, _, rest = html.partition("<body>")
    body, _, tail = rest.rpartition("</body>")
    copies = [body] + [f'<div style="break-before: page"></div>{body}' for _ in range(4)]
    return f"{head}<body>{''.join(copies)}</body>{tail}"


def render_process(instance: benchlib.Instance) -> benchlib.Result:
    from render import approval_inputs, page_count

    from app.documents.render_pool import RenderPool

    inputs = approval_inputs(instance)
    with RenderPool() as pool:
        for document in inputs:
            pool.render(document["html"], attachments=document["attachments"], title=document["title"])
        longest = max(inputs, key=lambda d: len(d["html"]))
        pdf, _boxes = pool.render(ten_pages(longest["html"]), attachments=longest["attachments"],
                                  title=longest["title"])
        pages = page_count(pdf)
        peak = benchlib.peak_rss_mb(pool.pid)
    print(f"memory bench: render process rendered {len(inputs)} approval documents and one of {pages} pages",
          file=sys.stderr)
    return benchlib.Result(f"render process peak RSS ({len(inputs)} forms + {pages} pages)", round(peak, 1),
                           None, "MB", None, None, "< 400 MB", peak < 400)


def main() -> None:
    args = benchlib.arguments(__doc__.splitlines()[0])
    seconds = 30 if args.quick else 120
    port = free_port()
    instance = benchlib.Instance(base_url=f"http://127.0.0.1:{port}").setup(demo=True)
    try:
        results = [web_worker(instance, seconds), render_process(instance)]
    finally:
        instance.cleanup()
    benchlib.report("memory", results)


if __name__ == "__main__":
    main()
