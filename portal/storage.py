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
import tempfile
from pathlib import Path

_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SAFE_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def is_safe_extension(extension: str) -> bool:
    """Whether ``extension`` may end a file name (stored, or offered for download)."""
    return _SAFE_EXTENSION.fullmatch(extension) is not None


def submissions_root(data_dir: Path) -> Path:
    return _private_dir(Path(data_dir) / "submissions")


def tmp_root(data_dir: Path) -> Path:
    return _private_dir(Path(data_dir) / "tmp")


def _inside(root: Path, name: str) -> Path:
    if not _SAFE_NAME.fullmatch(name):
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
    """Make a folder's entries (a rename, a new or deleted file) durable."""
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


def new_staging_dir(data_dir: Path) -> Path:
    """A fresh private folder under tmp/ in which a submission is assembled."""
    return Path(tempfile.mkdtemp(prefix="staging-", dir=tmp_root(data_dir)))


def publish_staging(data_dir: Path, staging: Path, submission_id: str) -> Path:
    """Make an assembled folder the submission's folder in one rename, durably.

    The files in ``staging`` must already be fsynced; this fsyncs the folder itself,
    renames it into submissions/ and fsyncs submissions/.
    """
    target = submission_dir(data_dir, submission_id)
    fsync_dir(staging)
    os.rename(staging, target)  # same filesystem: tmp/ and submissions/ share data_dir
    fsync_dir(target.parent)
    return target


def remove_tree(path: Path) -> None:
    """Delete a folder under tmp/ (a staging folder), ignoring one already gone."""
    shutil.rmtree(path, ignore_errors=True)


def clear_tmp(data_dir: Path) -> int:
    """Delete everything under tmp/ (only safe when no request is in progress).
    Returns how many entries were removed."""
    root = tmp_root(data_dir)
    removed = 0
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    if removed:
        fsync_dir(root)
    return removed


def submission_folders(data_dir: Path) -> list[str]:
    """Names of every entry under submissions/ (normally submission ids)."""
    return sorted(entry.name for entry in submissions_root(data_dir).iterdir())


def remove_submission_entry(data_dir: Path, name: str) -> None:
    """Delete any entry under submissions/, including one whose name is not a valid
    id (left there by hand or by a crash)."""
    root = submissions_root(data_dir)
    path = root / name
    if path.parent != root or name in {"", ".", ".."}:
        raise ValueError("path escapes its folder")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    fsync_dir(root)
