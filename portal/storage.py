"""Where submissions live on disk, and the only functions that touch those paths.

Layout under the data folder (mode 0700)::

    submissions/<submission id>/<stored name>   cleaned files as age files, generated names
    staging/                                    encrypted submissions being assembled
    tmp/<host>/                                 plaintext: uploads being received and
                                                cleaned, one folder per host
                                                (``PORTAL_TMP_DIR`` moves it, to local
                                                disk or a tmpfs), one
                                                request-<pid>-<random>/ folder per request
    portal-<host>.lock                          held by every serving process of <host>

Plaintext only ever exists in a host's temporary folder, for the length of the
request that needs it; only that host's processes sweep it (portal/housekeeping.py).
staging/ is always inside the data folder, so publishing a submission stays one
rename on one filesystem wherever tmp/ is. Every path is built from generated
identifiers and checked to stay inside its folder; nothing a client sends is ever part
of a path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import sys
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


def tmp_root(data_dir: Path, tmp_dir: Path) -> Path:
    """This host's private folder for plaintext temporary files, ``tmp_dir``
    (``Settings.temp_dir``: ``PORTAL_TMP_DIR``, or tmp/<host>/ in ``data_dir``),
    made if missing."""
    tmp_dir = Path(tmp_dir)
    if tmp_dir.parent == Path(data_dir) / "tmp":
        _private_dir(tmp_dir.parent)  # tmp/ itself private too, not the umask's mode
    return _private_dir(tmp_dir)


def staging_root(data_dir: Path) -> Path:
    """Where encrypted submissions are assembled: beside submissions/, so that
    :func:`publish_staging` is a rename within one filesystem."""
    return _private_dir(Path(data_dir) / "staging")


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


def part_path(target: Path) -> Path:
    """A hidden, unique name beside ``target``, where a file is written whole before
    one rename puts it at ``target``: a crash leaves a ``.part``, never half a file."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")


def create_once(path: Path, content: bytes) -> bytes:
    """Put ``content`` at ``path`` (mode 0600) unless a file is already there, and
    return what ``path`` holds. Safe when several processes race to create it (each
    gunicorn worker on a first start): the content is written whole under a private
    name and linked into place, and ``link`` fails if another got there first, so
    no one reads a half-written file and all get the same content."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    part = part_path(path)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(part, path)
        except FileExistsError:
            return path.read_bytes()
        fsync_dir(path.parent)
        return content
    finally:
        part.unlink()


def fsync_file(path: Path) -> None:
    """Make a file's content durable (its name needs :func:`fsync_dir` of its folder)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new or deleted file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def delete_submission_files(data_dir: Path, submission_id: str) -> None:
    """Remove a submission's folder and everything in it, durably. A tipster's
    message may rename files into it meanwhile (:func:`publish_files`): the folder
    is then not empty at the end, and is removed again."""
    folder = submission_dir(data_dir, submission_id)
    for attempt in range(1, _DELETE_ATTEMPTS + 1):
        if not folder.exists():
            break
        try:
            remove_folder(folder)
        except OSError as error:
            if error.errno != errno.ENOTEMPTY or attempt == _DELETE_ATTEMPTS:
                raise
    fsync_dir(folder.parent)


#: how many times a submission's folder is removed again when files arrive in it
_DELETE_ATTEMPTS = 5


def remove_folder(path: Path) -> None:
    """Delete a folder and everything in it. What is gone already counts as removed:
    another process, of this host or another, may be sweeping the same entry at the
    same moment. Any other error is raised."""

    def gone_is_removed(_function: object, _path: object, error: BaseException) -> None:
        if not isinstance(error, FileNotFoundError):
            raise error

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=gone_is_removed)
    else:
        shutil.rmtree(path, onerror=lambda f, p, info: gone_is_removed(f, p, info[1]))


#: names of request folders under tmp/ (see :class:`WorkFolder`)
WORK_PREFIX = "request-"
#: a request folder is made under this prefix, locked, then renamed to its real name
NEW_WORK_PREFIX = ".new-"


class WorkFolder:
    """A private folder under ``root`` (tmp/) for one request's plaintext: its
    uploads and the work folder its files are cleaned in.

    The process that makes it holds an exclusive ``flock`` on the folder until
    :meth:`remove`. The kernel drops the lock when the process ends, however it ends
    (a SIGKILL, the OOM killer), so any other process can tell an abandoned folder
    from one in use (:func:`portal.housekeeping.sweep_abandoned_work`) without
    trusting a process id that may have been reused. The folder is locked before it
    gets its ``request-`` name, so no sweeper ever sees it unlocked while it lives.
    """

    def __init__(self, root: Path) -> None:
        new = Path(tempfile.mkdtemp(prefix=NEW_WORK_PREFIX, dir=root))
        self._fd: int | None = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.path = root / f"{WORK_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        os.rename(new, self.path)

    def remove(self) -> None:
        """Delete the folder and all in it, then release it (safe to call twice)."""
        if self._fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._fd)
        self._fd = None


def new_staging_dir(data_dir: Path) -> Path:
    """A fresh private folder under staging/ in which a submission is assembled."""
    return Path(tempfile.mkdtemp(prefix="staging-", dir=staging_root(data_dir)))


def new_work_dir(data_dir: Path, tmp_dir: Path, within: Path | None = None) -> Path:
    """A fresh private folder for one request's plaintext: inside ``within`` (the
    request's :class:`WorkFolder`) when given, else under tmp/."""
    parent = within or tmp_root(data_dir, tmp_dir)
    return Path(tempfile.mkdtemp(prefix="work-", dir=parent))


def publish_staging(data_dir: Path, staging: Path, submission_id: str) -> Path:
    """Make an assembled folder the submission's folder in one rename, durably.

    The files in ``staging`` must already be fsynced; this fsyncs the folder itself,
    renames it into submissions/ and fsyncs submissions/.
    """
    target = submission_dir(data_dir, submission_id)
    fsync_dir(staging)
    os.rename(staging, target)  # one filesystem: staging/ and submissions/ share data_dir
    fsync_dir(target.parent)
    return target


def publish_files(data_dir: Path, staging: Path, submission_id: str) -> list[str]:
    """Move the (fsynced) files assembled in ``staging`` into an existing submission's
    folder, durably, and remove ``staging``. Returns the names moved; if a move fails,
    those already moved are removed again before the error is raised."""
    target = submission_dir(data_dir, submission_id)
    if not target.is_dir():
        raise FileNotFoundError("the submission's folder is gone")
    moved: list[str] = []
    try:
        for entry in sorted(staging.iterdir()):
            os.rename(entry, _inside(target, entry.name))
            moved.append(entry.name)
        fsync_dir(target)
    except BaseException:
        remove_stored_files(data_dir, submission_id, moved)
        raise
    remove_tree(staging)
    return moved


def remove_stored_files(data_dir: Path, submission_id: str, names: list[str]) -> None:
    """Delete some files of a submission's folder, durably (missing ones ignored)."""
    if not names:
        return
    folder = submission_dir(data_dir, submission_id)
    for name in names:
        _inside(folder, name).unlink(missing_ok=True)
    if folder.is_dir():
        fsync_dir(folder)


def remove_tree(path: Path) -> None:
    """Delete a folder under tmp/ or staging/, ignoring one already gone."""
    shutil.rmtree(path, ignore_errors=True)


def temporary_roots(data_dir: Path, tmp_dir: Path) -> tuple[Path, Path]:
    """This host's temporary folder (plaintext) and staging/ (encrypted,
    unpublished): what a crash leaves."""
    return tmp_root(data_dir, tmp_dir), staging_root(data_dir)


def clear_folder(root: Path) -> int:
    """Delete everything in ``root`` (a host's temporary folder: only safe when no
    request of that host is in progress). Returns how many entries were removed."""
    count = 0
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        count += 1
    if count:
        fsync_dir(root)
    return count


def submission_folders(data_dir: Path) -> list[str]:
    """Names of every entry under submissions/ (normally submission ids)."""
    return sorted(entry.name for entry in submissions_root(data_dir).iterdir())


def remove_submission_entry(data_dir: Path, name: str) -> None:
    """Delete any entry under submissions/, including one whose name is not a valid
    id (left there by hand or by a crash). One removed meanwhile by another sweeper
    counts as removed."""
    root = submissions_root(data_dir)
    path = root / name
    if path.parent != root or name in {"", ".", ".."}:
        raise ValueError("path escapes its folder")
    if path.is_dir() and not path.is_symlink():
        remove_folder(path)
    else:
        path.unlink(missing_ok=True)
    fsync_dir(root)
