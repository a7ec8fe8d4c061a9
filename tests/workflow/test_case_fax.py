"""A case's fax: the FAX送付状 (再送 on a resend, never an answer value or My Number) in front of the
sealed document's own pages, and `flask fax render`."""

from __future__ import annotations

import io
import subprocess

import pytest
import sqlalchemy as sa
from flask import render_template
from PIL import Image

from app.delivery.destinations import find as find_destination
from app.demo.answers import DEMO_MYNUMBER
from app.documents import fax
from app.documents.fax_cover import FaxCover, cover_context
from app.submissions.models import Submission
from app.workflow.cli import NotSealed, case_fax, sealed_document
from app.workflow.rendering import latest_sealed_bytes


@pytest.fixture
def approved(approve_case):
    return approve_case("juminhyo")


def _ocr(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return subprocess.run(["tesseract", "stdin", "stdout", "--psm", "6", "-l", "jpn", "--dpi", "204"],
                          input=buffer.getvalue(), capture_output=True, check=True, timeout=120).stdout.decode()


def test_render_fax_cover_first_then_the_sealed_document(app_ctx, approved):
    sealed = latest_sealed_bytes(approved.receipt_number)
    document_pages = fax.page_count(sealed)
    data = case_fax(approved, find_destination("homukyoku"), resolution="fine", compression="g4", attempt=2)
    read = fax.read_tiff(data)
    assert len(read) == 1 + document_pages
    # pages 2… are the sealed document's own pages, not a new render
    assert [p.tobytes() for p, _tags in read[1:]] == [p.tobytes() for p in fax.rasterise(sealed)]
    top = read[0][0].crop((0, 0, 1728, 700)).convert("L")
    text = "".join(_ocr(top).split())
    assert "送付状" in text
    assert "再送" in text


def _cover(approved, attempt: int) -> FaxCover:
    document = sealed_document(approved)
    return FaxCover(to_name="架空地方法務局 本局", to_fax="03-0000-1111", municipality="架空市", office_name="市民課",
                    form_title=approved.form_version.title_ja, receipt_number=approved.receipt_number,
                    verification_code=document.verification_code,
                    verify_url=f"http://madoguchi.test/verify/{document.verification_code}", attempt=attempt)


def test_cover_html_resend_mark_and_no_answers(app_ctx, approved):
    document = sealed_document(approved)
    first = render_template("pdf/fax_cover.html", **cover_context(_cover(approved, 1), total_pages=3))
    again = render_template("pdf/fax_cover.html", **cover_context(_cover(approved, 3), total_pages=3))
    assert "再送" not in first
    assert "再送（3回目）" in again
    for html in (first, again):
        assert approved.receipt_number in html and "03-0000-1111" in html and "3枚" in html
        assert document.verification_code in html  # in the verify address
        assert DEMO_MYNUMBER not in html
        for value in approved.answers.values():
            if isinstance(value, str) and len(value) > 2:
                assert value not in html


def test_not_sealed_is_refused(app_ctx, new_case):
    submission = new_case("juminhyo", "in_review")
    with pytest.raises(NotSealed):
        case_fax(submission, find_destination("homukyoku"))


def test_cli_fax_render(app_ctx, runner, approved, new_case, tmp_path, db):
    out = tmp_path / "fax"
    result = runner.invoke(args=["fax", "render", approved.receipt_number, "--out", str(out),
                                 "--resolution", "standard", "--compression", "g3"])
    assert result.exit_code == 0, result.output
    path = out / f"{approved.receipt_number}.tif"
    assert str(path) in result.output and "pages:" in result.output and "photometric=0" in result.output
    (_image, tags), *_rest = fax.read_tiff(path.read_bytes())
    assert tags[259] == 3 and float(tags[283]) == 98

    unknown = runner.invoke(args=["fax", "render", "NOPE-0000", "--out", str(out)])
    assert unknown.exit_code == 1 and "NOPE-0000" in unknown.output
    pending = new_case("juminhyo", "in_review")
    unsealed = runner.invoke(args=["fax", "render", pending.receipt_number, "--out", str(out)])
    assert unsealed.exit_code == 1 and "not sealed" in unsealed.output
    assert db.session.scalar(sa.select(Submission).where(Submission.receipt_number == "NOPE-0000")) is None
