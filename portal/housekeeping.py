"""Housekeeping of the data folder: what a crash or a killed worker leaves behind.

Filing (:mod:`portal.public.filing`) leaves, at any crash point, either nothing, a
stray entry under tmp/ or staging/, a folder under submissions/ with no database
row, or (a tipster's later message) files in a submission's folder with no row.
:func:`sweep_storage` runs in every app start (whatever ``PORTAL_SERVE`` says) and
removes all of those, but only when no other portal process is using the same data
folder: each process holds a shared lock on ``portal.lock`` for its lifetime (kept in
``app.extensions["portal_storage_lock"]``), so a restarting worker never deletes
another worker's upload in progress. A worker killed mid-request while others serve
leaves its originals under tmp/; :func:`sweep_stale_tmp` removes those once they are
older than the form's CSRF lifetime (no live request can still use them), at each
worker start and at each tip received.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from pathlib import Path

from flask import Flask

from portal import storage
from portal.models import StoredFile, Submission, db

log = logging.getLogger(__name__)


def sweep_storage(app: Flask) -> None:
    """At start: remove everything under tmp/ and every submission folder without a
    database row, unless another portal process is using this data folder.

    Call inside an app context, after the tables exist.
    """
    settings = app.config["PORTAL_SETTINGS"]
    data_dir: Path = settings.data_dir
    lock = open(data_dir / "portal.lock", "a+b")  # noqa: SIM115 (held for the app's life)
    os.chmod(lock.fileno(), 0o600)
    app.extensions["portal_storage_lock"] = lock
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # Another process is serving: its uploads in progress are not leftovers.
        fcntl.flock(lock, fcntl.LOCK_SH)
        sweep_stale_tmp(data_dir, settings.csrf_time_limit, settings.temp_dir)
        return
    try:
        removed = storage.clear_tmp(data_dir, settings.temp_dir)
        known = set(db.session.scalars(db.select(Submission.id)))
        folders = storage.submission_folders(data_dir)
        orphans = [name for name in folders if name not in known]
        for name in orphans:
            storage.remove_submission_entry(data_dir, name)
        stray = _remove_unfiled_files(data_dir, [name for name in folders if name in known])
        if removed or orphans or stray:
            log.warning(
                "start-up sweep removed %d temporary entries, %d unfiled folders and "
                "%d unfiled files",
                removed,
                len(orphans),
                stray,
            )
    finally:
        fcntl.flock(lock, fcntl.LOCK_SH)


def _remove_unfiled_files(data_dir: Path, submission_ids: list[str]) -> int:
    """Files in filed submissions' folders that no row names (a later message cut
    short between moving its files in and committing its rows)."""
    filed: dict[str, set[str]] = {}
    for submission_id, name in db.session.execute(
        db.select(StoredFile.submission_id, StoredFile.stored_name)
    ):
        filed.setdefault(submission_id, set()).add(name)
    removed = 0
    for submission_id in submission_ids:
        folder = storage.submission_dir(data_dir, submission_id)
        if not folder.is_dir() or folder.is_symlink():
            continue
        stray = [e for e in folder.iterdir() if e.name not in filed.get(submission_id, set())]
        for entry in stray:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink(missing_ok=True)
        if stray:
            storage.fsync_dir(folder)
        removed += len(stray)
    return removed


def sweep_stale_tmp(data_dir: Path, max_age: float, tmp_dir: Path | None = None) -> int:
    """Remove entries under tmp/ and staging/ in which nothing was written for
    ``max_age`` seconds.

    Safe while other requests are in progress when ``max_age`` is the CSRF lifetime:
    a request's files are written after its form was loaded, so a file untouched for
    that long belongs to a request whose form has expired (it will be refused) or to
    a dead process. Returns how many entries were removed.
    """
    cutoff = time.time() - max_age
    removed = 0
    for root in storage.temporary_roots(data_dir, tmp_dir):
        removed += _sweep_older(root, cutoff)
    if removed:
        log.warning("removed %d stale temporary entries", removed)
    return removed


def _sweep_older(root: Path, cutoff: float) -> int:
    removed = 0
    for entry in root.iterdir():
        try:
            if _newest_change(entry) >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            # Gone meanwhile (its request finished), or not removable now: never let
            # housekeeping fail a tipster's request.
            continue
        removed += 1
    if removed:
        storage.fsync_dir(root)
    return removed


def _newest_change(entry: Path) -> float:
    newest = entry.lstat().st_mtime
    if entry.is_dir() and not entry.is_symlink():
        for folder, dirs, files in os.walk(entry):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return newest
