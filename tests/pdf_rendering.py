"""Pages rendered before and after cleaning, compared: the oracle that a cleaned PDF
still shows what the original showed.

Poppler's ``pdftoppm`` (Debian's poppler-utils, installed by .ci/run) rasterises every
page of both files; they must have as many pages, of the same size, and the same
pixels, up to the slight shift a device colour profile replaced by the plain device
colour space causes (see portal/cleaning/pdf/rewrite.py).

The root conftest applies :func:`rendering_difference` to every PDF any test cleans,
through the PDF cleaner itself, so no test can forget it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops

DPI = 40
#: A pixel differs when a channel differs by more than this (colour-profile shifts).
CHANNEL_TOLERANCE = 24
#: The share of pixels of a page allowed to differ (anti-aliasing at shape edges).
PIXEL_TOLERANCE = 0.002


def pdftoppm() -> str:
    path = shutil.which("pdftoppm")
    if path is None:
        raise RuntimeError("pdftoppm not found: install poppler-utils (bash .ci/run does)")
    return path


def render(pdf: Path, folder: Path) -> list[Image.Image] | None:
    """Every page of ``pdf`` as an RGB image; None if poppler cannot read the file
    or reads it only with errors (it is damaged: poppler's repair and qpdf's can read
    different documents out of it)."""
    prefix = folder / "page"
    done = subprocess.run(
        [pdftoppm(), "-r", str(DPI), "-png", str(pdf), str(prefix)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0 or b"Error" in done.stderr:
        return None
    pages = []
    for png in sorted(folder.glob("page*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        with Image.open(png) as image:
            pages.append(image.convert("RGB"))
    return pages


def _page_difference(before: Image.Image, after: Image.Image) -> str | None:
    if before.size != after.size:
        return f"page size {before.size} became {after.size}"
    diff = ImageChops.difference(before, after).convert("L")
    histogram = diff.histogram()
    differing = sum(histogram[CHANNEL_TOLERANCE + 1 :])
    share = differing / (before.size[0] * before.size[1])
    if share > PIXEL_TOLERANCE:
        return f"{share:.2%} of the pixels differ"
    return None


def rendering_difference(original: Path, cleaned: Path) -> str | None:
    """How the cleaned file's pages differ from the original's, None if they do not.
    An original poppler cannot render cleanly (a damaged file) has nothing to compare
    with."""
    with tempfile.TemporaryDirectory() as tmp:
        before_dir, after_dir = Path(tmp) / "before", Path(tmp) / "after"
        before_dir.mkdir()
        after_dir.mkdir()
        before = render(original, before_dir)
        if before is None:
            return None
        after = render(cleaned, after_dir)
        if after is None:
            return "poppler cannot render the cleaned file without errors"
        if len(before) != len(after):
            return f"{len(before)} pages became {len(after)}"
        for number, (page_before, page_after) in enumerate(zip(before, after, strict=True), 1):
            difference = _page_difference(page_before, page_after)
            if difference is not None:
                return f"page {number}: {difference}"
    return None
