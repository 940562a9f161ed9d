"""Where submissions live on disk, and the only functions that touch those paths.

Layout under the data folder (mode 0700)::

    submissions/<submission id>/<stored name>   cleaned files, generated names only
    tmp/                                        uploads being received and cleaned

Every path is built from generated identifiers and checked to stay inside its folder;
nothing a client sends is ever part of a path.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def submissions_root(data_dir: Path) -> Path:
    return _private_dir(Path(data_dir) / "submissions")


def tmp_root(data_dir: Path) -> Path:
    return _private_dir(Path(data_dir) / "tmp")


def _inside(root: Path, name: str) -> Path:
    if not _SAFE_NAME.match(name):
        raise ValueError("unsafe stored name")
    path = (root / name).resolve()
    if path.parent != root.resolve():
        raise ValueError("path escapes its folder")
    return path


def submission_dir(data_dir: Path, submission_id: str) -> Path:
    """The folder of one filed submission (it may not exist)."""
    return _inside(submissions_root(data_dir), submission_id)


def stored_file_path(data_dir: Path, submission_id: str, stored_name: str) -> Path:
    """The cleaned file an editor may download."""
    return _inside(submission_dir(data_dir, submission_id), stored_name)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def delete_submission_files(data_dir: Path, submission_id: str) -> None:
    """Remove a submission's folder and everything in it, durably."""
    folder = submission_dir(data_dir, submission_id)
    if folder.exists():
        shutil.rmtree(folder)
        fsync_dir(folder.parent)
