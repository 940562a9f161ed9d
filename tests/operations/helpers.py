"""Helpers of the operations tests: the ``flask`` command run as an operator runs it
(a process of its own, on a data folder), and what a backup folder holds."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flask_command(
    data_dir: Path, *args: str, database_url: str = "", stdin: str = ""
) -> subprocess.CompletedProcess:
    """``flask --app app ARGS`` with ``PORTAL_DATA_DIR`` (and ``PORTAL_DATABASE_URL``,
    when given; else SQLite in the data folder) set, in its own process, given
    ``stdin`` on its standard input."""
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("PORTAL_SECRET_KEY", None)
    env.pop("PORTAL_DATABASE_URL", None)
    if database_url:
        env["PORTAL_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def modes_under(folder: Path) -> set[tuple[str, int]]:
    """(kind, permission bits) of the folder and of everything under it."""
    found = {("dir", stat.S_IMODE(folder.stat().st_mode))}
    for path in folder.rglob("*"):
        kind = "dir" if path.is_dir() else "file"
        found.add((kind, stat.S_IMODE(path.stat().st_mode)))
    return found


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
