"""Helpers for the browser tests: residents in the live server's database, signing in as a person
does, filling drafts quickly over HTTP (sharing the browser's cookies), and the accessibility checks
(axe-core from the ``axe-playwright-python`` wheel, so nothing is fetched at run time)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import sqlalchemy as sa

from tests.support.filing import TINY_PDF, page_data

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Answers that make every conditional page and question of the three demo forms appear.
REVEAL_ALL = {
    "juminhyo": {"whose_record": "household_some", "purpose": "other"},
    "tenkyo": {"filer_is_head": "no", "head_changes": "yes"},
    "inkan-shomei": {"applicant_role": "proxy", "purpose": "other"},
}


def make_resident(app, email: str) -> str:
    """A confirmed resident with ``PASSWORD``, written straight into the live server's database."""
    from app.accounts.models import Resident
    from app.accounts.service import hash_password
    from app.db import utcnow
    from app.extensions import db

    with app.app_context():
        db.session.add(Resident(email=email, password_hash=hash_password(PASSWORD), locale="ja",
                                email_confirmed_at=utcnow()))
        db.session.commit()
    return email


def submissions_of(app, email: str) -> list[tuple[str, str | None]]:
    """(state, receipt number) of every submission of the resident, oldest first."""
    from app.accounts.models import Resident
    from app.extensions import db
    from app.submissions.models import Submission

    with app.app_context():
        rows = db.session.execute(
            sa.select(Submission.state, Submission.receipt_number)
            .join(Resident, Resident.id == Submission.resident_id)
            .where(Resident.email == email)
            .order_by(Submission.id)
        ).all()
        return [tuple(row) for row in rows]


def submit_history_count(app, receipt: str) -> int:
    from app.extensions import db
    from app.submissions.models import Submission

    with app.app_context():
        submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
        return sum(1 for entry in submission.history if entry.action == "submit")


def sign_in(page, base: str, email: str) -> None:
    """Through the sign-in page, by its labels, as a person would."""
    page.goto(base + "/account/sign-in")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="サインイン").click()
    page.wait_for_load_state()
    assert "/account/sign-in" not in page.url, "sign-in failed"


# ---- drafts over HTTP ------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _multipart(data: dict) -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, tuple):  # (BytesIO, filename): an upload
            out[key] = {"name": value[1], "mimeType": "application/pdf", "buffer": TINY_PDF}
        else:
            out[key] = value
    return out


def fill_draft(page, base: str, definition: dict, overrides: dict | None = None) -> int:
    """Start the form and answer every page over HTTP with the page's cookies; return the draft id.

    The browser is then on no particular page; the draft stands at its 確認画面.
    """
    overrides = overrides or {}
    slug = definition["slug"]
    request = page.request
    start = request.get(f"{base}/forms/{slug}")
    response = request.post(f"{base}/forms/{slug}/start", form={"csrf_token": _csrf(start.text())},
                            max_redirects=0)
    assert response.status == 302, response.text()[:500]
    location = urljoin(base + "/", response.headers["location"])
    draft_id = int(re.search(r"/drafts/(\d+)/", location).group(1))
    answers: dict = {}
    for _ in range(2 * len(definition["pages"]) + 1):  # a page that reveals a question is shown twice
        if "/check" in location:
            return draft_id
        page_id = location.rsplit("/", 1)[-1].split("?")[0]
        spec = next(p for p in definition["pages"] if p["id"] == page_id)
        form_page = request.get(location)
        assert form_page.status == 200, form_page.text()[:500]
        data = page_data(spec, answers, overrides)
        answers.update({k: v for k, v in data.items() if isinstance(v, str)})
        data.update({"csrf_token": _csrf(form_page.text()), "action": "next"})
        response = request.post(location, multipart=_multipart(data), max_redirects=0)
        assert response.status == 302, re.findall(r"＊([^<]+)<", response.text()) or response.text()[:800]
        location = urljoin(base + "/", response.headers["location"])
    raise AssertionError(f"{slug}: never reached the check page")


def definitions(app) -> dict[str, dict]:
    """The published form definitions by slug, as the live server serves them."""
    from app.catalogue.service import published_forms

    with app.app_context():
        return {form.slug: form.definition for form in published_forms()}


# ---- accessibility ---------------------------------------------------------------------------------


def _axe_path():
    from axe_playwright_python.base import AXE_FILE_PATH

    return AXE_FILE_PATH


def enable_axe(context) -> None:
    """Load axe-core into every page the context opens (quicker than injecting it page by page).

    Init scripts are added through the DevTools protocol, so the pages' Content-Security-Policy
    (script-src 'self') does not block them.
    """
    context.add_init_script(path=_axe_path())


_AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'], iframes: false, preload: false,
  });
  return result.violations;
}
"""


def axe_violations(page) -> list[str]:
    """axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it stands: one line per failing element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_path().read_text(encoding="utf-8"))
    lines = []
    for violation in page.evaluate(_AXE_RUN, AXE_TAGS):
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}): {' '.join(map(str, node['target']))} — "
                         f"{node.get('failureSummary', '').replace(chr(10), ' ')} — {node['html'][:160]}")
    return lines


# Our own checks that axe does not make (research/jp_design.md §3.4, §4.2):
#  * no control has a placeholder, and every visible control has a <label> (or is a part inside a
#    fieldset with a legend, labelled by its own <label>): a placeholder is never the label;
#  * every tap target (a, button, input, select, textarea) is at least 44 × 44 CSS px. Skipped:
#    visually hidden or aria-hidden elements, and links inline in a sentence (WCAG 2.5.8 exception:
#    their size is set by the line height of the text around them). A radio or checkbox counts
#    together with its label, which is part of its hit area;
#  * one <h1>, and no heading level skipped after the first heading (the error summary's <h2> comes
#    before the <h1>, as in DADS and GOV.UK) (JIS 1.3.1, 2.4.6);
#  * the page does not scroll sideways at the current width (WCAG 1.4.10 reflow).
_CUSTOM_CHECKS = (Path(__file__).parent / "custom_checks.js").read_text(encoding="utf-8")


def custom_problems(page) -> list[str]:
    return page.evaluate(_CUSTOM_CHECKS)
