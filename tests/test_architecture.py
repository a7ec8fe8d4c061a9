"""The layers of app/ (pyproject.toml [tool.importlinter]) catch the imports they forbid.

Runs ``lint-imports`` on a copy of app/ with one forbidden import added, so what is tested is the
contract file, not only that the tool runs. The real tree is checked by scripts/test before any test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: (module that gains the import, the import, a contract whose name must be in the report)
VIOLATIONS = [
    ("app/seals/records.py", "import app.workflow.service", "No package but the public edge"),
    ("app/documents/blobs.py", "import app.submissions.models", "Documents and seals take data, not cases"),
    ("app/delivery/service.py", "import app.submissions.models", "Domains in layers"),
    ("app/audit/chain.py", "import app.accounts.models", "The audit ledger imports no domain"),
    ("app/catalogue/models.py", "import app.submissions.models", "The catalogue (definitions) imports no"),
    ("app/jobs/queue.py", "import app.accounts.models", "app.jobs and app.jp import nothing of the app"),
    ("app/jp/rules.py", "import app.demo", "app.jobs and app.jp import nothing of the app"),
    ("app/config.py", "import app.audit.checkpoint", "imports no domain"),
    ("app/seals/service.py", "import app.documents.stamp", "Domains in layers"),
]


def lint_copy(tmp_path: Path, change: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    shutil.copytree(PROJECT_ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if change is not None:
        module, statement = change
        path = tmp_path / module
        path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}  # the forbidden import\n",
                        encoding="utf-8")
    # The copy comes first on the path: lint-imports analyses the package it imports.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_tree_as_it_is_keeps_every_contract(tmp_path):
    result = lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "statement", "contract"), VIOLATIONS)
def test_a_forbidden_import_is_caught(tmp_path, module, statement, contract):
    result = lint_copy(tmp_path, (module, statement))
    assert result.returncode != 0
    report = " ".join(result.stdout.split())  # the tool wraps long contract names
    assert f"{contract}" in report and "BROKEN" in report, report[-2000:]
    assert module.removesuffix(".py").replace("/", ".") in report
