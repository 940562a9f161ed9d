"""An older main's code, taken from git history, for upgrade tests: an installation
made by that code is then upgraded by this one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def extract(commit: str, folder: Path) -> Path:
    """The app's files at ``commit`` unpacked into ``folder``; the test is skipped
    (saying why) where there is no git checkout or the commit is not in it."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the upgrade test takes the old main from git history; no git checkout")
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], check=False
    )
    if known.returncode != 0:
        pytest.skip(f"commit {commit} is not in this clone's history (shallow clone?)")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "portal", "app.py", "templates",
         "static", "translations", "babel.cfg"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder
