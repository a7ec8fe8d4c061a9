"""The English catalogue is complete and safe to format, and English really reaches pages and e-mail.

Every msgid that babel.cfg extracts from app/ and templates/ must have an English translation in
app/translations/en/LC_MESSAGES/messages.po (run ``scripts/i18n extract`` to add new msgids there,
translate them, then ``scripts/i18n compile``). Placeholders must match: a translation may leave a
``%(name)s`` of its msgid out, or use one its msgid lacks, only when the "#" translator comment of
that entry in messages.po names it (or, for a dropped ``%(x)s``, when the English uses ``%(x_en)s``),
and a placeholder the msgid lacks must be passed by every call of that msgid in the source.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages import extract as babel_extract
from babel.messages import frontend as babel_frontend
from babel.messages.pofile import read_po
from flask import has_request_context
from jinja2 import Environment, nodes

from tests.support.http import csrf_token

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
PO_FILE = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
SOURCE_TOP_DIRS = ("app", "templates")
GETTEXT_NAMES = {"_", "gettext", "_l", "lazy_gettext"}
# The same keyword options as scripts/i18n (babel.cfg names _l and lazy_gettext as well).
KEYWORDS = {**babel_extract.DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
HIRAGANA = re.compile(r"[\u3041-\u309f]+")


# --- helpers ------------------------------------------------------------------------------------


def _directory_filter(path: str) -> bool:
    parts = Path(path).relative_to(ROOT).parts
    return parts[0] in SOURCE_TOP_DIRS and not any(p.startswith((".", "_")) for p in parts)


def extracted_messages() -> dict[str, list[str]]:
    """msgid → its places ("file:line"), as pybabel extract with babel.cfg finds them."""
    parse = getattr(babel_frontend, "parse_mapping_cfg", None) or babel_frontend.parse_mapping
    with BABEL_CFG.open(encoding="utf-8") as fh:
        method_map, options_map = parse(fh, str(BABEL_CFG))
    found: dict[str, list[str]] = defaultdict(list)
    for filename, lineno, message, _comments, _context in babel_extract.extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=_directory_filter
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[msgid].append(f"{filename}:{lineno}")
    return dict(found)


def english_catalogue():
    with PO_FILE.open("rb") as fh:
        return read_po(fh, locale="en")


def placeholders(text: str) -> dict[str, str]:
    """name → the whole placeholder, e.g. {"count": "%(count)s"}."""
    return {m.group(1): m.group(0) for m in PLACEHOLDER.finditer(text)}


def call_site_keywords() -> dict[str, list[tuple[str, set[str] | None]]]:
    """msgid → [(place, keyword argument names)] for every _()/gettext/_l call with a literal msgid,
    in Python and in templates. None stands for a call with **kwargs (names unknown)."""
    calls: dict[str, list[tuple[str, set[str] | None]]] = defaultdict(list)
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names = {k.arg for k in node.keywords}
                calls[node.args[0].value].append(
                    (f"{path.relative_to(ROOT)}:{node.lineno}", None if None in names else names)
                )
    env = Environment(extensions=["jinja2.ext.i18n"])
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        tree = env.parse(path.read_text(encoding="utf-8"))
        for node in tree.find_all(nodes.Call):
            if (
                isinstance(node.node, nodes.Name)
                and node.node.name in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], nodes.Const)
                and isinstance(node.args[0].value, str)
            ):
                names = None if node.dyn_kwargs is not None else {k.key for k in node.kwargs}
                calls[node.args[0].value].append((f"{path.relative_to(ROOT)}:{node.lineno}", names))
    return dict(calls)


class _Anything(dict):
    """A value for any placeholder name; 1 suits every conversion (%s, %d, %f, %x...)."""

    def __missing__(self, key):
        return 1


# --- the catalogue ------------------------------------------------------------------------------


def test_every_msgid_in_the_source_has_english():
    catalogue = english_catalogue()
    problems = []
    for msgid, places in sorted(extracted_messages().items(), key=lambda item: item[1][0]):
        message = catalogue.get(msgid)
        english = message.string if message is not None else ""
        if isinstance(english, tuple):
            english = english[0]
        if message is None:
            problems.append(f"{places[0]}: not in messages.po (run scripts/i18n extract): {msgid}")
        elif not english or not english.strip():
            problems.append(f"{places[0]}: no English: {msgid}")
        elif message.fuzzy:
            problems.append(f"{places[0]}: English marked fuzzy (not used until the flag is removed): {msgid}")
        elif english == msgid and JAPANESE.search(msgid):
            problems.append(f"{places[0]}: the English is the Japanese msgid: {msgid}")
    if problems:
        pytest.fail(
            f"{len(problems)} msgid(s) without English in {PO_FILE}; "
            "run scripts/i18n extract, translate, then scripts/i18n compile:\n" + "\n".join(problems),
            pytrace=False,
        )


def test_translations_keep_the_placeholders_of_their_msgid():
    calls = call_site_keywords()
    problems = []
    for message in english_catalogue():
        english = message.string[0] if isinstance(message.string, tuple) else message.string
        if not message.id or not english:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        ja, en = placeholders(msgid), placeholders(english)
        documented = " ".join(message.user_comments)
        where = f"messages.po:{message.lineno}: {msgid}"
        for name in ja.keys() - en.keys():
            if f"{name}_en" not in en and f"%({name})" not in documented:
                problems.append(f"{where}: the English leaves out {ja[name]}")
        for name in en.keys() - ja.keys():
            if f"%({name})" not in documented:
                problems.append(
                    f"{where}: the English uses {en[name]}, which the msgid lacks; if the code passes it, "
                    "say so in a '#' translator comment on the entry"
                )
            for place, passed in calls.get(msgid, []):
                if passed is not None and name not in passed:
                    problems.append(f"{place}: {en[name]} is in the English but not passed to _()")
        for name in ja.keys() & en.keys():
            if ja[name] != en[name]:
                problems.append(f"{where}: {ja[name]} became {en[name]}")
        # Templates always %-format (Jinja newstyle gettext), Python only with keyword arguments:
        # wherever the msgid is formatted, the English must format too (no stray "%").
        if ja or msgid.count("%%"):
            try:
                english % _Anything()
            except (ValueError, TypeError) as exc:
                problems.append(f"{where}: the English is not a valid format string ({exc})")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# --- English on the pages and in e-mail ---------------------------------------------------------


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_switching_to_english_shows_english_pages(client, db):
    from app.catalogue.service import built_in_catalogue_dir, sync_catalogue
    from app.cli import catalogue_references

    sync_catalogue([built_in_catalogue_dir()], catalogue_references())
    db.session.commit()

    home = client.get("/")
    assert 'lang="ja"' in home.get_data(as_text=True)
    assert "オンラインでできる手続き" in home.get_data(as_text=True)

    response = client.post("/language", data={"csrf_token": csrf_token(home), "locale": "en", "next": "/"})
    assert response.status_code == 302

    home = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in home, "after POST /language the page should be English"
    assert "Services you can apply for online" in home, (
        "no English on the home page: is messages.mo compiled (scripts/i18n compile)?"
    )
    assert "Request for a copy of the resident record" in home
    assert not HIRAGANA.findall(_visible_text(home)), HIRAGANA.findall(_visible_text(home))

    page = client.get("/forms/juminhyo").get_data(as_text=True)
    assert 'lang="en"' in page
    assert "Request for a copy of the resident record" in page
    assert "Sign in to start" in page
    assert not HIRAGANA.findall(_visible_text(page)), HIRAGANA.findall(_visible_text(page))


MAIL_CONTEXT = {
    "confirm_url": "https://madoguchi.test/confirm/abc",
    "sign_in_url": "https://madoguchi.test/account/sign-in",
    "reset_url": "https://madoguchi.test/account/reset/abc",
    "status_url": "https://madoguchi.test/submissions/1",
    "days": 7,
    "minutes": 30,
    "receipt_number": "R7-000123",
    "title": "Request for a copy of the resident record",
    "state": "approved",
    "message": "Please check the date of birth.",
    "fix_url": "https://madoguchi.test/drafts/1",
    "next_steps": lambda decided=False: ["We review your request."],
    "office_name": "Citizens Division",
    "office_phone": "0120-000-111",
    "office_hours": {"ja": "平日", "en": "Weekdays"},
}
MAIL_TEMPLATES = sorted(p.stem for p in (ROOT / "templates" / "mail").glob("*.txt"))


@pytest.mark.parametrize("template", MAIL_TEMPLATES)
def test_mail_renders_in_the_recipients_language_without_a_request(db, template):
    """The worker and the CLI queue mail in an app context with no request: force_locale must still work."""
    import sqlalchemy as sa

    from app.jobs.mail import queue_mail
    from app.jobs.models import Job

    assert not has_request_context()
    for locale in ("en", "ja"):
        queue_mail(to="taro@example.jp", template=template, locale=locale,
                   idempotency_key=f"test:{template}:{locale}", **MAIL_CONTEXT)
    db.session.flush()
    payloads = {
        job.idempotency_key.rsplit(":", 1)[1]: job.payload
        for job in db.session.scalars(sa.select(Job).where(Job.idempotency_key.like(f"test:{template}:%")))
    }
    english = payloads["en"]["subject"] + "\n" + payloads["en"]["body"]
    assert not JAPANESE.search(english), english
    assert english.startswith("[Madoguchi]"), english
    japanese = payloads["ja"]["subject"] + "\n" + payloads["ja"]["body"]
    assert payloads["ja"]["subject"].startswith("【窓口】"), japanese


def test_mail_language_is_the_recipients_not_the_requests(app, db):
    """A staff member using English queues a Japanese resident's mail: it is in Japanese, and the
    request's own locale is English again afterwards."""
    import sqlalchemy as sa
    from flask_babel import get_locale, gettext

    from app.jobs.mail import queue_mail
    from app.jobs.models import Job

    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "en"
        assert gettext("サインイン") == "Sign in"
        queue_mail(to="hanako@example.jp", template="submission_received", locale="ja",
                   idempotency_key="test:request:ja", **MAIL_CONTEXT)
        assert str(get_locale()) == "en"
        assert gettext("サインイン") == "Sign in"
    job = db.session.scalar(sa.select(Job).where(Job.idempotency_key == "test:request:ja"))
    assert job.payload["subject"].startswith("【窓口】申請を受け付けました"), job.payload
