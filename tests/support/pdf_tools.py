"""Poppler's tools, run on what we print: text, fonts, pages, rasters."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, check=True, text=True).stdout


def pdftotext(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return run("pdftotext", "-layout", *pages, str(path), "-")


def page_count(path: Path) -> int:
    for line in run("pdfinfo", str(path)).splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise AssertionError("pdfinfo printed no page count")


def pdffonts(path: Path) -> list[dict]:
    """Rows of ``pdffonts``: name, type, emb, sub."""
    lines = run("pdffonts", str(path)).splitlines()[2:]
    fonts = []
    for line in lines:
        parts = line.split()
        # name type... encoding emb sub uni object-id gen: the flags are the 5th..3rd last columns
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "line": line})
    return fonts


def rasterise(path: Path, out_dir: Path, *args: str) -> list[Path]:
    """``pdftoppm`` every page into out_dir; returns the image files in page order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", *args, str(path), str(out_dir / "p")], check=True, capture_output=True)
    return sorted(out_dir.glob("p*"))
