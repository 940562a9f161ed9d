"""Backing up an installation and restoring it into an empty one (``flask backup
DEST``, ``flask restore SRC``; docs/operations.md says how and when).

A backup is a folder (0700, its files 0600)::

    manifest.json                    what it holds: each file's size and SHA-256
    database.sqlite3 | database.pgdump
    submissions/<id>/<name>.age      the stored files, byte for byte as on disk

**What is in it.** The database (every sealed tip and message, the wrapped keys:
editors' wrapped private keys, keyrings and TOTP secrets, the inbox's public keys;
the audit log) and the stored files, copied as they are: nothing is decrypted, so a
backup holds nothing in clear that is not in clear at rest. Opening its tips needs
what opens the server's: an editor's password or the recovery key.

**What is not.** The sessions (``editor_session``, ``tipster_session``): their rows
are emptied in the copy, before it reaches the disk, so that a backup and an old
cookie together open nothing (an ended session must leave nothing behind, see
docs/encryption.md), and a restored portal signs everyone in afresh anyway. Nor
``secret_key``: it only signs cookies; the restored portal makes a new one (or uses
``PORTAL_SECRET_KEY``), which voids every cookie made before. Nor tmp/, staging/ and
the lock files: work in progress, not filed.

**Consistency.** The database is copied first, as one snapshot (SQLite's online
backup API, into memory; PostgreSQL: a repeatable-read transaction exports its
snapshot, lists the files in it and runs ``pg_dump --snapshot``). Then exactly the
files that snapshot names are copied. A submission filed after the snapshot is left
out whole (its folder may already exist, its row is not in the snapshot); so are
files a later message added to an older submission, and thumbnails the inbox made
later (the restored inbox makes them again). Deletion removes a submission's files
before its row, so files that vanish between the snapshot and the copy belong to a
submission being deleted: it is left out too, and listed in the manifest
(``left_out``) so that restoring removes its rows. A file missing from a folder that
is still there is missing from the installation itself: the submission is kept, the
file listed (``missing``) and reported. A key rotation re-encrypts files in
place: a backup that overlaps one is refused (run it again when ``flask inbox
rotate`` has finished).

**Writing and restoring.** The backup is assembled under a temporary name beside
DEST, every file fsynced, the manifest last, then renamed to DEST. Restoring checks the
manifest and every file's checksum while it copies into a private folder inside the
data folder, then moves the files into place and the database last (SQLite: one
rename; PostgreSQL: ``pg_restore --single-transaction``); on any error everything it
put in place is removed again. It refuses an installation that holds a submission
folder or a database table, or that a running portal is using.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from portal import storage
from portal.database import MIGRATIONS, sqlite_path
from portal.models import db

FORMAT = "portal-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PGDUMP_FILE = "database.pgdump"
#: tables whose rows a backup never holds (see the module's docstring)
SESSION_TABLES = ("editor_session", "tipster_session")
_CHUNK = 1024 * 1024
_STORED_PATH = re.compile(r"submissions/([0-9a-f]{32})/([a-z0-9][a-z0-9._-]{0,63})")


class BackupError(Exception):
    """A backup could not be made, or a restore cannot proceed; nothing was left."""


@dataclass
class Listing:
    """What a database snapshot names: the submissions, their files, the keys."""

    revision: str | None
    submissions: list[str]
    #: submission id -> names of its files (stored files and their thumbnails)
    files: dict[str, list[str]]
    inbox_keys: list[int]


@dataclass
class Made:
    """What :func:`make_backup` wrote."""

    path: Path
    submissions: int
    files: int
    size: int
    left_out: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _listing(connection: Connection) -> Listing:
    tables = set(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    submissions = sorted(connection.execute(text("SELECT id FROM submission")).scalars())
    columns = {c["name"] for c in inspect(connection).get_columns("stored_file")}
    names = "stored_name, thumbnail_name" if "thumbnail_name" in columns else "stored_name"
    files: dict[str, list[str]] = {}
    query = f"SELECT submission_id, {names} FROM stored_file"  # noqa: S608 (constant names)
    for row in connection.execute(text(query)):
        files.setdefault(row[0], []).extend(name for name in row[1:] if name)
    keys: list[int] = []
    if "inbox_key" in tables:
        keys = sorted(connection.execute(text("SELECT id FROM inbox_key")).scalars())
    return Listing(revision, submissions, files, keys)


def _private_file(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _copy_hashed(source: Path, target: Path, expected: str | None = None) -> tuple[int, str]:
    """Copy ``source`` to a new private file ``target``, fsynced; its size and SHA-256.
    With ``expected``, a different checksum is an error (the copy is removed)."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, os.fdopen(_private_file(target), "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if expected is not None and digest.hexdigest() != expected:
        target.unlink()
        raise BackupError(f"{source.name}: its checksum does not match the manifest")
    return size, digest.hexdigest()


def _hash(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, _files in os.walk(root, topdown=False):
        storage.fsync_dir(Path(folder))


# --- making a backup ---------------------------------------------------------------


def make_backup(data_dir: Path, database_uri: str, dest: Path) -> Made:
    """Write a backup of the installation to ``dest`` (which must not exist)."""
    dest = Path(dest).absolute()
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} exists already: give a new name for the backup")
    if not dest.parent.is_dir():
        raise BackupError(f"There is no folder {dest.parent} to write the backup in")
    if dest.resolve().is_relative_to(Path(data_dir).resolve()):
        raise BackupError("Write the backup outside the data folder (on another disk, ideally)")
    work = dest.parent / f".{dest.name}.partial-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        made = _write_backup(data_dir, database_uri, work)
        storage.fsync_dir(work)
        os.rename(work, dest)
        storage.fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    made.path = dest
    return made


def _write_backup(data_dir: Path, database_uri: str, work: Path) -> Made:
    entries: dict[str, dict[str, Any]] = {}
    path = sqlite_path(database_uri)
    if path is not None:
        listing, copied = _sqlite_backup(path, data_dir, work, entries)
        kind, database_file = "sqlite", SQLITE_FILE
    elif make_url(database_uri).get_backend_name() == "postgresql":
        listing, copied = _postgres_backup(database_uri, data_dir, work, entries)
        kind, database_file = "postgresql", PGDUMP_FILE
    else:
        raise BackupError("Only SQLite (in a file) and PostgreSQL databases can be backed up")
    if len(listing.inbox_keys) > 1 or _live_inbox_keys() != listing.inbox_keys:
        raise BackupError(
            "A key rotation is under way or was cut short: finish it (flask inbox rotate) "
            "and run the backup again"
        )
    left_out = copied.left_out
    kept = [s for s in listing.submissions if s not in left_out]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": listing.revision,
        "database": {"kind": kind, "file": database_file},
        "submissions": kept,
        "left_out": sorted(left_out),
        "missing": sorted(copied.missing),
        "excluded": [*SESSION_TABLES, "secret_key"],
        "files": entries,
    }
    with os.fdopen(_private_file(work / MANIFEST), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_tree(work)
    stored = [name for name in entries if name.startswith("submissions/")]
    return Made(
        work,
        submissions=len(kept),
        files=len(stored),
        size=sum(entry["size"] for entry in entries.values()),
        left_out=sorted(left_out),
        missing=sorted(copied.missing),
    )


def _live_inbox_keys() -> list[int]:
    with db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        if "inbox_key" not in tables:
            return []
        return sorted(connection.execute(text("SELECT id FROM inbox_key")).scalars())


@dataclass
class Copied:
    """What :func:`_copy_files` found."""

    #: submissions whose folder vanished during the copy: being deleted, left out
    left_out: set[str] = field(default_factory=set)
    #: files the snapshot names that the installation itself lacks (their folder is
    #: there): recorded in the manifest, their submission kept
    missing: list[str] = field(default_factory=list)


def _copy_files(
    data_dir: Path, listing: Listing, work: Path, entries: dict[str, dict[str, Any]]
) -> Copied:
    """Copy the files ``listing`` names into ``work``.

    Deletion removes a submission's folder before its row, so a submission whose
    files are gone *with their folder* is being deleted: it is left out (its copies
    removed again). A file missing from a folder that is still there once every
    other file is copied is missing from the installation too: the submission is
    kept, its other files and its note with it, and the manifest lists the file.
    """
    copied = Copied()
    short: dict[str, list[str]] = {}
    root = work / "submissions"
    root.mkdir(mode=0o700)
    for submission_id in listing.submissions:
        target = root / submission_id
        target.mkdir(mode=0o700)
        for name in listing.files.get(submission_id, []):
            source = storage.stored_file_path(data_dir, submission_id, name)
            try:
                size, digest = _copy_hashed(source, target / name)
            except FileNotFoundError:
                short.setdefault(submission_id, []).append(name)
                continue
            entries[f"submissions/{submission_id}/{name}"] = {"size": size, "sha256": digest}
    for submission_id, names in short.items():
        if storage.submission_dir(data_dir, submission_id).is_dir():
            copied.missing.extend(f"submissions/{submission_id}/{name}" for name in names)
            continue
        copied.left_out.add(submission_id)
        prefix = f"submissions/{submission_id}/"
        for key in [key for key in entries if key.startswith(prefix)]:
            del entries[key]
        shutil.rmtree(root / submission_id)
    return copied


def _sqlite_backup(
    path: Path, data_dir: Path, work: Path, entries: dict[str, dict[str, Any]]
) -> tuple[Listing, Copied]:
    if not path.is_file():
        raise BackupError(f"There is no database at {path}")
    memory = sqlite3.connect(":memory:")
    try:
        source = sqlite3.connect(path)
        try:
            source.backup(memory)  # one step: a consistent snapshot under a read lock
        finally:
            source.close()
        # Sessions go before anything is written: in memory, overwritten on delete.
        memory.execute("PRAGMA secure_delete = ON")
        tables = {row[0] for row in memory.execute("SELECT name FROM sqlite_master")}
        for table in SESSION_TABLES:
            if table in tables:
                memory.execute(f"DELETE FROM {table}")  # noqa: S608 (a constant name)
        memory.commit()
        memory.execute("VACUUM")
        engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
        with engine.connect() as connection:
            listing = _listing(connection)
        target = work / SQLITE_FILE
        os.close(_private_file(target))
        out = sqlite3.connect(target)
        try:
            memory.backup(out)
        finally:
            out.close()
    finally:
        memory.close()
    size, digest = _hash(target)
    entries[SQLITE_FILE] = {"size": size, "sha256": digest}
    return listing, _copy_files(data_dir, listing, work, entries)


def libpq_url(database_uri: str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy PostgreSQL URL as libpq's tools take it, without its password
    (given through the environment, never on a command line others can read)."""
    url = make_url(database_uri)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _postgres_backup(
    database_uri: str, data_dir: Path, work: Path, entries: dict[str, dict[str, Any]]
) -> tuple[Listing, Copied]:
    url, env = libpq_url(database_uri)
    engine: Engine = db.engine
    target = work / PGDUMP_FILE
    snapshot_connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot_connection as connection, connection.begin():
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
        listing = _listing(connection)
        copied = _copy_files(data_dir, listing, work, entries)
        command = [
            "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
            f"--snapshot={snapshot}", f"--file={target}",
            *(f"--exclude-table-data={table}" for table in SESSION_TABLES),
            f"--dbname={url}",
        ]  # fmt: skip
        _run_client(command, env, "pg_dump failed")
    os.chmod(target, 0o600)
    storage.fsync_file(target)
    size, digest = _hash(target)
    entries[PGDUMP_FILE] = {"size": size, "sha256": digest}
    return listing, copied


# --- restoring ---------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    submissions: int
    files: int
    revision: str | None


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, checked for shape (not yet against the files)."""
    try:
        manifest: dict[str, Any] = json.loads((Path(source) / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a backup: it has no {MANIFEST}") from None
    except (OSError, ValueError) as error:
        raise BackupError(f"The backup's {MANIFEST} is damaged ({error})") from None
    try:
        if manifest["format"] != FORMAT or not isinstance(manifest["files"], dict):
            raise BackupError(f"{source} is not a backup made by flask backup")
        if manifest["version"] != VERSION:
            raise BackupError(f"This backup's format ({manifest['version']}) is not known here")
        database = manifest["database"]
        if (database["kind"], database["file"]) not in {
            ("sqlite", SQLITE_FILE),
            ("postgresql", PGDUMP_FILE),
        } or database["file"] not in manifest["files"]:
            raise BackupError("The backup's manifest names no database")
        for name, entry in manifest["files"].items():
            if name != database["file"] and not _STORED_PATH.fullmatch(name):
                raise BackupError(f"The backup's manifest names an unexpected file: {name!r}")
            if not isinstance(entry["size"], int) or not isinstance(entry["sha256"], str):
                raise BackupError("The backup's manifest is damaged")
        for submission_id in [*manifest["submissions"], *manifest["left_out"]]:
            if not isinstance(submission_id, str) or not re.fullmatch(
                r"[0-9a-f]{32}", submission_id
            ):
                raise BackupError("The backup's manifest is damaged")
    except (KeyError, TypeError, AttributeError):
        raise BackupError("The backup's manifest is damaged") from None
    return manifest


def _known_revision(revision: str | None) -> bool:
    if revision is None:
        return True
    versions = MIGRATIONS / "versions"
    pattern = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
    return any(revision in pattern.findall(script.read_text()) for script in versions.glob("*.py"))


@contextlib.contextmanager
def _alone(data_dir: Path) -> Iterator[None]:
    """Hold every host's serving lock (``portal-<host>.lock``, see
    portal.housekeeping) exclusively: no portal process may be running. On several
    hosts this sees the others only where the shared storage carries file locks:
    stop every host first (docs/operations.md)."""
    paths = {data_dir / "portal.lock", *data_dir.glob("portal-*.lock")}
    fds: list[int] = []
    try:
        for path in sorted(paths):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError(
                    "The portal is running on this data folder: stop it before restoring"
                ) from None
        yield
    finally:
        for fd in fds:
            os.close(fd)


def _refuse_unless_empty(data_dir: Path, database_uri: str) -> None:
    submissions = data_dir / "submissions"
    if submissions.is_dir() and any(submissions.iterdir()):
        raise BackupError(
            f"{data_dir} holds submissions already: restore only into an empty "
            "installation (nothing is overwritten)"
        )
    path = sqlite_path(database_uri)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return
    with db.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        raise BackupError(
            "The database has tables already: restore only into a new, empty database "
            "(nothing is overwritten)"
        )


def restore_backup(source: Path, data_dir: Path, database_uri: str) -> Restored:
    """Restore the backup at ``source`` into the empty installation on ``data_dir`` and
    ``database_uri``. All of it, or (on any error) nothing."""
    source = Path(source)
    manifest = read_manifest(source)
    if not _known_revision(manifest["revision"]):
        raise BackupError(
            f"This backup was made by a newer portal (database revision "
            f"{manifest['revision']}): install that version to restore it"
        )
    kind = manifest["database"]["kind"]
    path = sqlite_path(database_uri)
    here = "sqlite" if path is not None else make_url(database_uri).get_backend_name()
    if kind != here:
        raise BackupError(
            f"This backup holds a {kind} database; this installation uses {here}: "
            "set PORTAL_DATABASE_URL to match"
        )
    if not data_dir.is_dir():
        raise BackupError(
            f"There is no data folder at {data_dir}: create it (install -d -m 0700) and set "
            "PORTAL_DATA_DIR to it"
        )
    with _alone(data_dir):
        _refuse_unless_empty(data_dir, database_uri)
        work = data_dir / f".restore-{secrets.token_hex(4)}"
        work.mkdir(mode=0o700)
        try:
            return _restore(source, manifest, data_dir, database_uri, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if path is not None:
                path.parent.joinpath(f".{path.name}.{work.name}").unlink(missing_ok=True)


def _restore(
    source: Path, manifest: dict[str, Any], data_dir: Path, database_uri: str, work: Path
) -> Restored:
    files: dict[str, dict[str, Any]] = manifest["files"]
    database_file = manifest["database"]["file"]
    staged = work / "submissions"
    staged.mkdir(mode=0o700)
    for submission_id in manifest["submissions"]:
        (staged / submission_id).mkdir(mode=0o700)
    count = 0
    for name, entry in files.items():
        if name == database_file:
            continue
        match = _STORED_PATH.fullmatch(name)
        assert match is not None  # read_manifest checked every name
        folder = staged / match.group(1)
        if not folder.is_dir():
            raise BackupError(f"The backup's manifest is damaged: {name} has no submission")
        _checked_copy(source / name, folder / match.group(2), entry)
        count += 1
    # Beside its final place, so that putting it there is one rename.
    path = sqlite_path(database_uri)
    database_copy = work / database_file
    if path is not None:
        database_copy = path.parent / f".{path.name}.{work.name}"
    _checked_copy(source / database_file, database_copy, files[database_file])
    _fsync_tree(staged)

    # The files first: a database without its files would show tips that cannot open.
    live = storage.submissions_root(data_dir)
    moved = []
    try:
        for folder in sorted(staged.iterdir()):
            os.rename(folder, live / folder.name)
            moved.append(live / folder.name)
        storage.fsync_dir(live)
        if manifest["database"]["kind"] == "sqlite":
            _restore_sqlite(database_copy, database_uri, manifest["left_out"])
        else:
            _restore_postgres(database_copy, database_uri, manifest["left_out"])
    except BaseException:
        for folder in moved:
            shutil.rmtree(folder, ignore_errors=True)
        storage.fsync_dir(live)
        raise
    return Restored(len(manifest["submissions"]), count, manifest["revision"])


def _checked_copy(source: Path, target: Path, entry: dict[str, Any]) -> None:
    try:
        size = source.stat().st_size
    except FileNotFoundError:
        raise BackupError(f"The backup is incomplete: {source.name} is missing") from None
    if size != entry["size"]:
        raise BackupError(
            f"The backup is damaged: {source.name} has {size} bytes, not {entry['size']}"
        )
    _copy_hashed(source, target, expected=entry["sha256"])


def _restore_sqlite(copy: Path, database_uri: str, left_out: list[str]) -> None:
    path = sqlite_path(database_uri)
    assert path is not None
    check = sqlite3.connect(copy)
    try:
        result = check.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The backup's database is damaged ({error})") from None
    finally:
        check.close()
    if result != ("ok",):
        raise BackupError("The backup's database is damaged")
    if left_out:
        engine = create_engine(f"sqlite:///{copy}")
        try:
            with engine.begin() as connection:
                connection.execute(text("PRAGMA secure_delete = ON"))
                _forget(connection, left_out)
        finally:
            engine.dispose()
    db.engine.dispose()  # no connection may hold the old (empty) file
    with contextlib.suppress(FileNotFoundError):
        Path(f"{path}-journal").unlink()
    os.rename(copy, path)
    storage.fsync_dir(path.parent)


def _run_client(command: list[str], env: dict[str, str], failure: str) -> None:
    """Run a PostgreSQL client program (``pg_dump``, ``pg_restore``); a BackupError
    saying ``failure`` and what it printed when it fails, or that it is missing."""
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{failure}: {done.stderr.strip()}")


def _restore_postgres(copy: Path, database_uri: str, left_out: list[str]) -> None:
    url, env = libpq_url(database_uri)
    command = [
        "pg_restore", "--exit-on-error", "--single-transaction", "--no-owner",
        "--no-privileges", f"--dbname={url}", str(copy),
    ]  # fmt: skip
    _run_client(command, env, "pg_restore failed, nothing was restored")
    with db.engine.begin() as connection:
        _forget(connection, left_out)


def _forget(connection: Connection, left_out: list[str]) -> None:
    """Remove the rows of submissions that were being deleted during the backup (in
    SQL, so that it works on a database of an older revision too)."""
    if not left_out:
        return
    tables = set(inspect(connection).get_table_names())
    ids = {"ids": left_out}
    for table in ("stored_file", "thread_message"):
        if table in tables:
            connection.execute(
                text(f"DELETE FROM {table} WHERE submission_id IN :ids").bindparams(  # noqa: S608
                    bindparam("ids", expanding=True)
                ),
                ids,
            )
    connection.execute(
        text("DELETE FROM submission WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        ids,
    )
