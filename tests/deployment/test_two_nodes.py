"""Two nodes sharing nothing but PostgreSQL: two gunicorn web servers and two ``flask worker`` processes,
each node with its own instance folder, the blobs in the database (``MADOGUCHI_BLOB_STORE=database``),
the secrets in the environment as production takes them.

One scenario, end to end over HTTP: a resident files (with an upload) through node A; the clerk and the
approver act through node B; both workers run with ``MADOGUCHI_FAULT_INJECTION=mid_seal``, so whichever
claims the document's first seal is SIGKILLed in the middle of it and the other takes the job over after
its lease, sealing it once. The sealed document is then downloadable, verifiable and faxable from both
nodes; nothing of it is in either instance folder; ``flask audit verify`` and ``flask blobs check`` pass.
Then the backup and restore procedure of docs/deploy.md (``scripts/restore-drill``) restores a dump of
that database into a new one and proves it whole.

PostgreSQL only (the PostgreSQL run of scripts/test): several nodes on SQLite is not a deployment.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app import PROJECT_ROOT, create_app
from app.catalogue.service import latest_version
from app.documents import fax
from app.documents.models import Blob, Document
from app.extensions import db
from app.jobs.models import Job
from app.seals import pki as pki_core
from app.seals import service as seals
from app.seals.models import SealRecord
from app.submissions.models import Submission
from app.workflow.models import Approval, ApprovalState
from app.workflow.rendering import step_field_name
from app.workflow.service import ORG_SEAL
from tests.support.accounts import make_resident, sign_in_resident
from tests.support.catalogue import sync_built_in
from tests.support.filing import TINY_PDF, file_form
from tests.support.http import csrf_token
from tests.support.mail import SmtpServer
from tests.support.nodes import Node, NodeClient
from tests.support.plugin import DATABASE_URL, app_config
from tests.support.staff import make_staff, sign_in_staff

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(not (DATABASE_URL or "").startswith("postgresql"),
                       reason="several nodes share a PostgreSQL database: the PostgreSQL run of scripts/test"),
]

#: Longer than any job of the scenario on a loaded machine (a worker's first render starts its render
#: process), short enough that the takeover after the kill comes soon.
LEASE_SECONDS = 10
RESIDENT = "yamada@example.jp"
CLERK, APPROVER = "suzuki@city.example.jp", "kacho@city.example.jp"


def new_database(name: str) -> str:
    """A new, empty database on the test cluster; its SQLAlchemy URL."""
    base = sa.engine.make_url(DATABASE_URL)
    engine = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    target = sa.engine.make_url(url)
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    engine.dispose()


def audit_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, local_tsa):
    """The database, the catalogue, the seal PKI and the people (set up as an operator would, once), then
    nodes A and B, each with a web server and a worker."""
    folder = tmp_path_factory.mktemp("deployment")
    url = new_database("madoguchi_nodes")
    smtp = SmtpServer()
    tsa_root = folder / "tsa-root.pem"  # configuration every node is given, like /etc/madoguchi/
    tsa_root.write_bytes(pki_core.cert_pem(local_tsa.root))
    spool = folder / "fax-server-spool"  # the fax server's folder, shared with it: named, not a node's
    config = app_config(folder / "operator", url)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MADOGUCHI_", "FLASK_"))}
    env.update({
        "DATABASE_URL": url, "MADOGUCHI_ENV": "development", "MADOGUCHI_BLOB_STORE": "database",
        "SECRET_KEY": config["SECRET_KEY"], "MADOGUCHI_KEY_PASSPHRASE": config["MADOGUCHI_KEY_PASSPHRASE"],
        "MADOGUCHI_FIELD_KEY": config["MADOGUCHI_FIELD_KEY"], "MADOGUCHI_AUDIT_KEY": audit_key_pem(),
        "MADOGUCHI_WEBHOOK_SECRET": "webhook secret of the deployment", "MADOGUCHI_BASE_URL": "http://madoguchi.test",
        "SMTP_URL": smtp.url, "MADOGUCHI_SPOOL_PATH": str(spool), "MADOGUCHI_TSA_URL": local_tsa.url,
        "MADOGUCHI_TSA_ROOT": str(tsa_root), "MADOGUCHI_WORKER_POLL_SECONDS": "0.2",
        "MADOGUCHI_JOB_LEASE_SECONDS": str(LEASE_SECONDS), "PYTHONUNBUFFERED": "1",
    })
    operator = create_app({**config, "MADOGUCHI_BLOB_STORE": "database", "MADOGUCHI_TSA_URL": local_tsa.url,
                           "MADOGUCHI_TSA_ROOT": str(tsa_root), "MADOGUCHI_AUDIT_KEY": env["MADOGUCHI_AUDIT_KEY"]})
    nodes = [Node(name, folder / name, env) for name in ("a", "b")]
    try:
        with operator.app_context():
            from flask_migrate import upgrade

            upgrade()
            sync_built_in(db)
            seals.init_pki()
            db.session.commit()
            people = {"resident": make_resident(db, RESIDENT).email}
            for email, role in ((CLERK, "clerk"), (APPROVER, "approver")):
                _staff, password, secret = make_staff(db, email, "shimin", [role])
                people[role] = (email, password, secret)
        for node in nodes:
            node.start_web()
            node.start_worker(MADOGUCHI_FAULT_INJECTION="mid_seal")
        for node in nodes:
            node.wait_for_web()
            node.wait_for_worker()
        yield SimpleNamespace(url=url, env=env, nodes=nodes, operator=operator, people=people, smtp=smtp,
                              spool=spool, folder=folder)
    finally:
        for node in nodes:
            node.stop()
        smtp.stop()
        with operator.app_context():
            db.engine.dispose()
        drop_database(url)


def wait_for(condition, what: str, nodes, timeout: float = 120):
    """Poll the database (a fresh transaction each time) until ``condition()`` is true."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.commit()
        db.session.expire_all()
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- node {n.name} {what}:\n{n.log(what)}" for n in nodes for what in ("web", "worker"))
            pytest.fail(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.2)


def approve_through(client, submission_id: int) -> None:
    case_url = f"/office/cases/{submission_id}"
    page = client.get(case_url)
    assert page.status_code == 200
    response = client.post(f"{case_url}/approve", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def files_in(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_two_nodes_one_database(deployment):
    a, b = deployment.nodes
    nodes = deployment.nodes
    with deployment.operator.app_context():
        # A resident files through node A, with a power of attorney uploaded (a proxy's filing).
        resident = NodeClient(a)
        sign_in_resident(resident, RESIDENT)
        definition = latest_version("inkan-shomei").definition
        # Consenting to the 法務局 (outside the city): the fax that follows the seals goes there.
        receipt = file_form(resident, definition, {"applicant_role": "proxy"}, consents=("homukyoku",))
        submission = db.session.scalar(sa.select(Submission).where(Submission.receipt_number == receipt))
        submission_id = submission.id
        wait_for(lambda: db.session.get(Submission, submission_id).state == "in_review", "rendered", nodes)

        # The clerk acts through node B. Whichever worker claims the first seal dies in the middle of it.
        clerk = NodeClient(b)
        sign_in_staff(clerk, *deployment.people["clerk"])
        approve_through(clerk, submission_id)
        killed = wait_for(lambda: next((n for n in nodes if n.worker.poll() == -signal.SIGKILL), None),
                          "a worker killed mid-seal", nodes)
        killed_id = killed.worker_id()
        survivor = b if killed is a else a
        approval = wait_for(lambda: db.session.scalar(sa.select(Approval).where(
            Approval.submission_id == submission_id, Approval.state == ApprovalState.COMPLETE)),
            "the first step sealed by the other worker", nodes, timeout=LEASE_SECONDS + 120)
        job = db.session.scalar(sa.select(Job).where(Job.idempotency_key == f"seal:{approval.id}"))
        assert (job.state, job.attempts) == ("done", 2)
        assert job.worker_id == survivor.worker_id() != killed_id  # taken over by the other node's worker
        field = step_field_name(approval.step_index, approval.step_key, approval.office.code)
        document = db.session.scalar(sa.select(Document).where(Document.submission_id == submission_id,
                                                                Document.kind == "approval"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SealRecord)
                                 .where(SealRecord.approval_id == approval.id)) == 1
        assert [r.reason for r in document.revisions] == ["rendered", f"seal:{field}"]  # one PAdES revision
        killed.start_worker(MADOGUCHI_FAULT_INJECTION="mid_seal")  # as systemd would restart it

        # The approver acts through node B too; the organisation seal and the fax delivery follow.
        approver = NodeClient(b)
        sign_in_staff(approver, *deployment.people["approver"])
        approve_through(approver, submission_id)
        wait_for(lambda: db.session.get(Submission, submission_id).state == "approved", "approved", nodes)
        spooled = wait_for(lambda: sorted(deployment.spool.glob("*homukyoku.json")), "the fax spooled", nodes)
        assert len(spooled) == 1
        document = db.session.get(Document, document.id)
        assert [r.reason for r in document.revisions][-1] == ORG_SEAL and len(document.revisions) == 4
        sealed_sha256 = document.latest.sha256
        attachment = db.session.get(Submission, submission_id).attachments[0]

        # Downloadable from both nodes, by the resident (one browser sent to either node) and by staff.
        for node in nodes:
            # The resident gets the notice of the decision (this form gives no sealed copy to residents).
            # The notice is rendered by a job of its own after the decision.
            notice = wait_for(lambda node=node: (lambda r: r if r.status_code == 200 else None)(
                resident.via(node).get(f"/submissions/{submission_id}/documents/notice.pdf")), "the notice", nodes)
            assert notice.get_data().startswith(b"%PDF")
            mine = approver.via(node).get(f"/office/cases/{submission_id}/document")
            assert mine.status_code == 200 and hashlib.sha256(mine.get_data()).hexdigest() == sealed_sha256
            upload = approver.via(node).get(f"/office/cases/{submission_id}/attachments/{attachment.id}")
            assert upload.status_code == 200 and upload.get_data() == TINY_PDF

            # Verifiable from both: by code, by page, and by the PDF itself.
            by_code = resident.via(node).get(f"/api/v1/verify?code={document.verification_code}").get_json()
            assert by_code["genuine"] is True and len(by_code["seals"]) == 3, by_code
            assert resident.via(node).get(f"/verify/{document.verification_code}").status_code == 200
            by_file = resident.via(node).post("/api/v1/verify", data={"document": (
                io.BytesIO(mine.get_data()), "document.pdf")}, content_type="multipart/form-data")
            assert by_file.get_json()["genuine"] is True

        # Faxable from both: the operator's `flask fax render` on each node (the two at once).
        renders = {node: node.flask_async("fax", "render", receipt, "--out",
                                          str(deployment.folder / f"fax-{node.name}")) for node in nodes}
        for node, render in renders.items():
            out, err = render.communicate(timeout=300)
            assert render.returncode == 0, out + err
            tiff = (deployment.folder / f"fax-{node.name}" / f"{receipt}.tif").read_bytes()
            assert len(fax.read_tiff(tiff)) >= 2  # the cover sheet, then the sealed document's pages
        assert killed.worker.poll() is None  # the restarted worker runs

        # Nothing of the case is in either node's instance folder: no document, no upload, no secret.
        for node in nodes:
            assert files_in(node.instance) == [], f"node {node.name} keeps {files_in(node.instance)}"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Blob).where(Blob.kind == "uploads")) == 1

    for command in (("audit", "verify"), ("blobs", "check")):
        done = b.flask(*command)
        assert done.returncode == 0 and done.stdout.startswith("ok:"), done.stdout + done.stderr


def test_restore_a_dump_into_a_new_database(deployment, tmp_path):
    """The backup and restore procedure of docs/deploy.md: a checkpoint kept apart, a dump, and
    scripts/restore-drill restoring it into a new database on a fresh instance folder, proven with
    ``flask audit verify --checkpoint`` and ``flask blobs check``. Runs after the scenario above, whose
    sealed case is then among what is restored."""
    a = deployment.nodes[0]
    checkpoint, dump = tmp_path / "checkpoint.note", tmp_path / "madoguchi.dump"
    done = a.flask("audit", "checkpoint", "--out", str(checkpoint))
    assert done.returncode == 0, done.stdout + done.stderr
    libpq_url = deployment.url.replace("+psycopg", "")
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", libpq_url], check=True, timeout=120)

    target = new_database("madoguchi_restored")
    try:
        env = {key: value for key, value in deployment.env.items() if key != "MADOGUCHI_INSTANCE_PATH"}
        drill = subprocess.run([str(PROJECT_ROOT / "scripts" / "restore-drill"), "--dump", str(dump),
                                "--checkpoint", str(checkpoint), "--into", target],
                               env=env, capture_output=True, text=True, timeout=600)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert "audit: ok:" in drill.stdout and "blobs: ok:" in drill.stdout, drill.stdout

        # The restored database holds what the source held, and the drill notices a missing blob.
        counts = {}
        for url in (deployment.url, target):
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                counts[url] = [connection.scalar(sa.select(sa.func.count()).select_from(table))
                               for table in (Blob.__table__, SealRecord.__table__, Document.__table__)]
                if url == target:
                    connection.execute(sa.text("DELETE FROM blob_chunks WHERE kind = 'uploads'"))
                    connection.execute(sa.text("DELETE FROM blobs WHERE kind = 'uploads'"))
                    connection.commit()
            engine.dispose()
        assert counts[target] == counts[deployment.url]
        fresh = tmp_path / "fresh-instance"
        broken = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "blobs", "check"], cwd=PROJECT_ROOT,
                                env={**env, "DATABASE_URL": target, "MADOGUCHI_INSTANCE_PATH": str(fresh)},
                                capture_output=True, text=True, timeout=120)
        assert broken.returncode == 1 and broken.stdout.startswith("MISSING uploads "), broken.stdout + broken.stderr
    finally:
        drop_database(target)
