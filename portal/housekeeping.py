"""Housekeeping of the data folder: what a crash or a killed worker leaves behind.

Filing (:mod:`portal.public.filing`) leaves, at any crash point, either nothing, a
stray entry under tmp/ or staging/, a folder under submissions/ with no database
row, or (a tipster's later message) files in a submission's folder with no row.
:func:`sweep_storage` runs in every app start (whatever ``PORTAL_SERVE`` says) and
by ``flask housekeeping``.

A serving process takes its host's lock and sweeps the temporary folders at start
whatever the database's state: one that starts while the database cannot be used
(503 until ``flask db upgrade``, see :mod:`portal.database`) starts serving by
itself later, and from then on its uploads must be as safe from the others' sweeps
as any. Only the sweep of unfiled submissions reads the database's rows: such a
start skips it, and it is done at the next start or ``flask housekeeping`` (every
15 minutes) with the database ready. Nothing is filed while the database is not
ready, so nothing new needs it meanwhile.

Several hosts may serve one data folder (on NFS or CephFS, docs/deployment.md), and
no sweep relies on a file lock working across hosts. What is plaintext is per host:
each host's requests work in its own temporary folder (``Settings.temp_dir``:
tmp/<host>/ or ``PORTAL_TMP_DIR``), which only that host's processes sweep.
Everything shared (staging/, submissions/) is only ever swept by age: an entry
untouched for the form's CSRF lifetime belongs to no request in progress, on any
host. Several processes may sweep the same entry at once (gunicorn's workers
starting together, the hosts): a file or folder gone under a sweep counts as
removed (:func:`portal.storage.remove_folder`), never as an error that would stop
a worker from starting. When no other process of this host is serving (each holds
a shared lock on ``portal-<host>.lock`` for its lifetime, kept in
``app.extensions["portal_storage_lock"]``), the start-up sweep empties this host's
temporary folder at once; otherwise a restarting worker never deletes another
worker's upload in progress.

Each request keeps its plaintext (its uploads and the folder they are cleaned in)
in a :class:`~portal.storage.WorkFolder` in its host's temporary folder, locked by
the process serving it.
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

    #: whether this process was the only one of its host using the data folder
    #: (then this host's temporary folder was emptied)
    alone: bool
    #: temporary entries removed (this host's: all when alone, else abandoned or
    #: stale; under staging/: stale)
    temporary: int
    #: stale folders under submissions/ without a database row, and stale files in
    #: filed submissions' folders that no row names (0 when the database was not
    #: ready: not looked at)
    unfiled: int


def sweep_storage(app: Flask, *, database_ready: bool = True) -> Swept:
    """At start, and by ``flask housekeeping``: take this host's serving lock (held
    for the app's life); empty this host's temporary folder when no other process of
    this host is serving, otherwise remove only what ended processes left in it; and
    remove stale entries under staging/ and, with ``database_ready``, stale unfiled
    folders and files under submissions/ (see the module's docstring).

    Call inside an app context (with ``database_ready``, once the tables are current).
    """
    settings = app.config["PORTAL_SETTINGS"]
    data_dir: Path = settings.data_dir
    root = storage.tmp_root(data_dir, settings.temp_dir)
    lock = open(settings.host_lock, "a+b")  # noqa: SIM115 (held for the app's life)
    os.chmod(lock.fileno(), 0o600)
    app.extensions["portal_storage_lock"] = lock
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # Another process of this host is serving: its uploads are not leftovers.
        fcntl.flock(lock, fcntl.LOCK_SH)
        alone, removed = False, sweep_abandoned_work(root)
    else:
        try:
            alone, removed = True, storage.clear_folder(root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_SH)
    removed += sweep_stale_tmp(data_dir, settings.csrf_time_limit, settings.temp_dir)
    unfiled = sweep_unfiled(data_dir, settings.csrf_time_limit) if database_ready else 0
    if alone and (removed or unfiled):
        log.warning(
            "start-up sweep removed %d temporary entries and %d unfiled folders or files",
            removed,
            unfiled,
        )
    return Swept(alone=alone, temporary=removed, unfiled=unfiled)


def sweep_unfiled(data_dir: Path, max_age: float) -> int:
    """Remove what a crash between moving files into submissions/ and committing
    their rows leaves: folders without a row and files no row names, once nothing in
    them changed for ``max_age`` seconds (the CSRF lifetime). A fresh one may be a
    submission that a process on any host is about to commit. Returns how many."""
    cutoff = time.time() - max_age
    folders = storage.submission_folders(data_dir)
    if not folders:
        return 0
    known = set(db.session.scalars(db.select(Submission.id)))
    orphans = [name for name in folders if name not in known]
    removed = 0
    for name in orphans:
        try:
            if _newest_change(storage.submissions_root(data_dir) / name) >= cutoff:
                continue
        except OSError:
            continue  # gone meanwhile
        storage.remove_submission_entry(data_dir, name)
        removed += 1
    return removed + _remove_unfiled_files(data_dir, [n for n in folders if n in known], cutoff)


def _remove_unfiled_files(data_dir: Path, submission_ids: list[str], cutoff: float) -> int:
    """Files in filed submissions' folders that no row names, as a file or as its
    thumbnail (a later message cut short between moving its files in and committing
    its rows), changed before ``cutoff``."""
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
        names = filed.get(submission_id, set())
        try:
            stray = [e for e in folder.iterdir() if e.name not in names and _older(e, cutoff)]
            for entry in stray:
                if entry.is_dir() and not entry.is_symlink():
                    storage.remove_folder(entry)
                else:
                    entry.unlink(missing_ok=True)
            if stray:
                storage.fsync_dir(folder)
        except FileNotFoundError:
            continue  # the submission was deleted meanwhile, its folder with it
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


def sweep_stale_tmp(data_dir: Path, max_age: float, tmp_dir: Path) -> int:
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
                storage.remove_folder(entry)
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


def _older(entry: Path, cutoff: float) -> bool:
    try:
        return _newest_change(entry) < cutoff
    except OSError:
        return False  # gone meanwhile


def _newest_change(entry: Path) -> float:
    newest = entry.lstat().st_mtime
    if entry.is_dir() and not entry.is_symlink():
        for folder, dirs, files in os.walk(entry):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return newest
