"""Fixtures for the rendering tests: no app, no database. Poppler's tools (tests/support/pdf_tools.py)
check what we print."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

POPPLER = ("pdftotext", "pdffonts", "pdftoppm", "pdfinfo")


@pytest.fixture(scope="session", autouse=True)
def _poppler():
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:  # scripts/setup installs poppler-utils; failing beats silently skipping the checks
        pytest.fail(f"poppler-utils missing ({', '.join(missing)}): run scripts/setup")


@pytest.fixture
def write_pdf(tmp_path):
    counter = iter(range(1_000_000))

    def write(data: bytes) -> Path:
        path = tmp_path / f"doc{next(counter)}.pdf"
        path.write_bytes(data)
        return path

    return write
