"""Real, tiny files of each upload kind (tests/support/files.py)."""

from __future__ import annotations

import pytest

from tests.support.files import build_jpeg, build_pdf, build_png


@pytest.fixture
def tiny_png() -> bytes:
    return build_png()


@pytest.fixture
def tiny_jpeg() -> bytes:
    return build_jpeg()


@pytest.fixture
def tiny_pdf() -> bytes:
    return build_pdf()
