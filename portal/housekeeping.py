"""Housekeeping of the data folder: what a crash or a killed worker leaves behind.

Filing (:mod:`portal.public.filing`) leaves, at any crash point, either nothing, a
stray entry under tmp/ or staging/, a folder under submissions/ with no database
row, or (a tipster's later message) files in a submission's folder with no row.
:func:`sweep_storage` runs in every app start (whatever ``PORTAL_SERVE`` says) and
removes all of those, but only when no other portal process is using the same data
folder: each process holds a shared lock on ``portal.lock`` for its lifetime (kept in
``app.extensions["portal_storage_lock"]``), so a restarting worker never deletes
another worker's upload in progress.

Each request keeps its plaintext (its uploads and the folder they are cleaned in)
in a :class:`~portal.storage.WorkFolder` under tmp/, locked by the process serving
it.
A worker killed mid-request (SIGKILL, the OOM killer, gunicorn's timeout) leaves
its folder unlocked: :func:`sweep_abandoned_work` removes every such folder. It runs
when a worker starts, at each tip received, and every :data:`SWEEP_INTERVAL`
seconds in a thread of every process that serves the public side
(:func:`start_sweeper`), so the original of an upload does not outlive its worker
by more than a few seconds while any other worker lives. :func:`sweep_stale_tmp`
removes anything else under tmp/ and staging/ untouched for the form's CSRF
lifetime (a killed worker's encrypted staging folder, entries left by older
versions, a folder whose creation was cut short).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from portal import storage
from portal.models import StoredFile, Submission, db

log = logging.getLogger(__name__)

#: seconds between two sweeps of abandoned request folders in a serving process
SWEEP_INTERVAL = 3.0


@dataclass(frozen=True)
class Swept:
    """What one sweep removed."""

    #: whether this process was the only one using the data folder (a full sweep)
    alone: bool
    #: entries removed under tmp/ (everything when alone; else abandoned and stale)
    temporary: int
    #: folders under submissions/ without a database row (only swept when alone)
    unfiled: int


def sweep_storage(app: Flask) -> Swept:
    """At start, and by ``flask housekeeping``: remove everything under tmp/ and
    every submission folder without a database row when no other portal process is
    using this data folder; otherwise only what ended processes left.

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
        abandoned = sweep_abandoned_work(storage.tmp_root(data_dir, settings.temp_dir))
        stale = sweep_stale_tmp(data_dir, settings.csrf_time_limit, settings.temp_dir)
        return Swept(alone=False, temporary=abandoned + stale, unfiled=0)
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
        return Swept(alone=True, temporary=removed, unfiled=len(orphans) + stray)
    finally:
        fcntl.flock(lock, fcntl.LOCK_SH)


def _remove_unfiled_files(data_dir: Path, submission_ids: list[str]) -> int:
    """Files in filed submissions' folders that no row names, as a file or as its
    thumbnail (a later message cut short between moving its files in and committing
    its rows)."""
    filed: dict[str, set[str]] = {}
    for submission_id, name, thumbnail in db.session.execute(
        db.select(StoredFile.submission_id, StoredFile.stored_name, StoredFile.thumbnail_name)
    ):
        filed.setdefault(submission_id, set()).update(n for n in (name, thumbnail) if n)
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


def sweep_abandoned_work(root: Path) -> int:
    """Remove every request folder under ``root`` whose process has ended.

    A folder's lock is free only when no process holds it: its owner finished (and
    removed it) or died. Safe at any time, from any process. Returns how many
    folders were removed.
    """
    removed = 0
    for entry in root.iterdir():
        if not entry.name.startswith(storage.WORK_PREFIX):
            continue
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone meanwhile (its request ended), or not a folder
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a live process is using it
        try:
            shutil.rmtree(entry)
            removed += 1
        except FileNotFoundError:
            pass  # its owner removed it just before releasing it
        except OSError:
            log.error("could not remove an abandoned request folder")
        finally:
            os.close(fd)
    if removed:
        storage.fsync_dir(root)
        log.warning("removed %d request folders of ended processes", removed)
    return removed


def start_sweeper(app: Flask, interval: float = SWEEP_INTERVAL) -> threading.Event:
    """Sweep abandoned request folders every ``interval`` seconds in a daemon thread
    of this process, for as long as ``app`` exists. Returns the event that stops it."""
    settings = app.config["PORTAL_SETTINGS"]
    root = storage.tmp_root(settings.data_dir, settings.temp_dir)
    stop = threading.Event()
    weakref.finalize(app, stop.set)  # the thread holds no reference to the app
    thread = threading.Thread(
        target=_sweep_until, args=(root, stop, interval), name="portal-sweeper", daemon=True
    )
    thread.start()
    return stop


def _sweep_until(root: Path, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            sweep_abandoned_work(root)
        except Exception as exc:  # never let the thread die: the next round may work
            log.error("sweeping request folders failed: %s", type(exc).__name__)


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
