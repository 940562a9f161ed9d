"""Filing a submission atomically, and sweeping up after a crash.

A submission is a database row plus a folder of cleaned files. Filing:

1. every upload is cleaned into a private staging folder under tmp/ (the cleaner
   writes each output by rename and fsyncs it); each original is deleted as soon as
   it has been cleaned or refused;
2. the staging folder is fsynced and renamed to submissions/<id> in one step;
3. the row is committed. If the commit fails, the folder is removed.

So at any crash point there is either nothing, a stray folder under tmp/, or a
folder under submissions/ with no row. :func:`sweep_storage` removes the last two
when the app starts, but only when no other portal process is using the same data
folder (a shared lock held for each process's lifetime), so a restarting worker never
deletes another worker's upload in progress. A worker killed mid-request while others
serve leaves its originals under tmp/; :func:`sweep_stale_tmp` removes those once
they are older than the form's CSRF lifetime (no live request can still use them),
at each worker start and at each tip received.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from portal import storage
from portal.cleaning import Cleaned, Limits, Refusal, RefusalCode, clean_file
from portal.models import StoredFile, Submission, db, new_id
from portal.public.uploads import TempUpload, is_out_of_space

log = logging.getLogger(__name__)


class FilingFailed(Exception):
    """The submission could not be saved; nothing of it was kept."""

    @property
    def out_of_space(self) -> bool:
        return is_out_of_space(self.__cause__)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one uploaded file, for the receipt."""

    position: int  # 1-based, in the order the files arrived
    size: int  # bytes received
    cleaned: Cleaned | None = None
    refusal: RefusalCode | None = None


@dataclass(frozen=True)
class FilingResult:
    filed: bool
    files: tuple[FileOutcome, ...]

    @property
    def accepted(self) -> list[FileOutcome]:
        return [f for f in self.files if f.cleaned is not None]

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.refusal is not None]


def file_submission(
    data_dir: Path,
    *,
    locale: str,
    note: str,
    links: Sequence[str],
    contact: str,
    uploads: Sequence[TempUpload],
    limits: Limits | None = None,
) -> FilingResult:
    """Clean ``uploads`` and file everything, or nothing.

    A submission is filed when anything is left after cleaning: a note, a link or an
    accepted file. Raises :class:`FilingFailed` if saving failed; then nothing of
    this submission remains on disk or in the database.
    """
    limits = limits or Limits()
    staging: Path | None = None
    try:
        staging = storage.new_staging_dir(data_dir)
        outcomes, stored = _clean_all(staging, uploads, limits)
    except BaseException as exc:
        if staging is not None:
            storage.remove_tree(staging)
        for upload in uploads:
            upload.discard()
        if isinstance(exc, Exception):
            _log_failure("cleaning", exc)
            raise FilingFailed from exc
        raise

    if not (note or links or stored):
        storage.remove_tree(staging)
        return FilingResult(filed=False, files=tuple(outcomes))

    submission_id = new_id()
    try:
        storage.publish_staging(data_dir, staging, submission_id)
    except BaseException as exc:
        storage.remove_tree(staging)
        _remove_quietly(data_dir, submission_id)
        if isinstance(exc, Exception):
            _log_failure("publishing", exc)
            raise FilingFailed from exc
        raise

    submission = Submission(
        id=submission_id,
        locale=locale,
        note=note,
        links="\n".join(links),
        contact=contact,
        refused=[o.refusal.value for o in outcomes if o.refusal is not None],
        files=stored,
    )
    try:
        db.session.add(submission)
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        _remove_quietly(data_dir, submission_id)
        if isinstance(exc, Exception):
            _log_failure("commit", exc)
            raise FilingFailed from exc
        raise
    return FilingResult(filed=True, files=tuple(outcomes))


def _clean_all(
    staging: Path, uploads: Sequence[TempUpload], limits: Limits
) -> tuple[list[FileOutcome], list[StoredFile]]:
    outcomes: list[FileOutcome] = []
    stored: list[StoredFile] = []
    for position, upload in enumerate(uploads, start=1):
        token = new_id()
        try:
            upload.close()
            result = clean_file(upload.path, staging / token, limits)
        except Refusal as refusal:
            if is_out_of_space(refusal):
                # Not the file's fault: refusing it would file the rest without it.
                raise
            outcomes.append(FileOutcome(position, upload.size, refusal=refusal.code))
            # Only the code: a detail may quote a library message about the file's bytes.
            log.info("file refused: %s", refusal.code.value)
            continue
        finally:
            upload.discard()
        name = token
        os.chmod(staging / token, 0o600)
        if storage.is_safe_extension(result.extension):
            name = f"{token}.{result.extension}"
            os.rename(staging / token, staging / name)
        stored.append(
            StoredFile(
                position=len(stored) + 1,
                stored_name=name,
                kind=result.kind,
                format=result.format,
                mime=result.mime,
                extension=result.extension,
                size=(staging / name).stat().st_size,
                removed=sorted(c.value for c in result.removed),
            )
        )
        outcomes.append(FileOutcome(position, upload.size, cleaned=result))
    return outcomes, stored


def _remove_quietly(data_dir: Path, submission_id: str) -> None:
    try:
        storage.delete_submission_files(data_dir, submission_id)
    except OSError:
        log.error("could not remove an unfiled submission folder; the next start sweeps it")


def _log_failure(stage: str, exc: BaseException) -> None:
    # Only the exception's type: database errors quote the parameters (the note,
    # the contact) in their message, and those must never reach a log.
    log.error("filing failed while %s: %s", stage, type(exc).__name__)


def sweep_storage(app: Flask) -> None:
    """At start: remove everything under tmp/ and every submission folder without a
    database row, unless another portal process is using this data folder.

    Call inside an app context, after the tables exist.
    """
    data_dir: Path = app.config["PORTAL_SETTINGS"].data_dir
    lock = open(data_dir / "portal.lock", "a+b")  # noqa: SIM115 (held for the app's life)
    os.chmod(lock.fileno(), 0o600)
    app.extensions["portal_storage_lock"] = lock
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # Another process is serving: its uploads in progress are not leftovers.
        fcntl.flock(lock, fcntl.LOCK_SH)
        sweep_stale_tmp(data_dir, app.config["PORTAL_SETTINGS"].csrf_time_limit)
        return
    try:
        removed = storage.clear_tmp(data_dir)
        known = set(db.session.scalars(db.select(Submission.id)))
        orphans = [name for name in storage.submission_folders(data_dir) if name not in known]
        for name in orphans:
            storage.remove_submission_entry(data_dir, name)
        if removed or orphans:
            log.warning(
                "start-up sweep removed %d temporary entries and %d unfiled folders",
                removed,
                len(orphans),
            )
    finally:
        fcntl.flock(lock, fcntl.LOCK_SH)


def sweep_stale_tmp(data_dir: Path, max_age: float) -> int:
    """Remove entries under tmp/ in which nothing was written for ``max_age`` seconds.

    Safe while other requests are in progress when ``max_age`` is the CSRF lifetime:
    a request's files are written after its form was loaded, so a file untouched for
    that long belongs to a request whose form has expired (it will be refused) or to
    a dead process. Returns how many entries were removed.
    """
    root = storage.tmp_root(data_dir)
    cutoff = time.time() - max_age
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
        log.warning("removed %d stale temporary entries", removed)
    return removed


def _newest_change(entry: Path) -> float:
    newest = entry.lstat().st_mtime
    if entry.is_dir() and not entry.is_symlink():
        for folder, dirs, files in os.walk(entry):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return newest
