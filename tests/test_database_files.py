"""The database on disk: private to the portal's user, and deleted rows really gone.

SQLite creates its file with the process's umask (0644 under a usual 022), and its
-journal, -wal and -shm files with the database file's own mode; whether deleted
content is overwritten depends on how the library was built unless the app asks for
``PRAGMA secure_delete`` itself."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from portal import create_app
from portal.config import Settings
from portal.models import AuditEvent, db
from tests.apps import MakeApp, on_sqlite
from tests.public.helpers import png_bytes, post_tip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose_entries(folder: Path) -> list[str]:
    loose = []
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            loose.append(f"{path} is a symlink")
        elif _mode(path) != (0o700 if path.is_dir() else 0o600):
            loose.append(f"{path}: {oct(_mode(path))}")
    return loose


def test_database_and_every_file_are_private(make_app: MakeApp) -> None:
    app = make_app(persistent_database=True)
    client = app.test_client()
    old = os.umask(0o022)  # what a shell or a service usually has
    try:
        files = [(png_bytes(colour="blue"), "blue.png")]
        assert post_tip(client, "es", note="con foto", files=files).status_code == 200
    finally:
        os.umask(old)
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    if on_sqlite(app):
        assert (data_dir / "portal.sqlite3").is_file()
    assert _loose_entries(data_dir) == []


@pytest.mark.sqlite_only("SQLite's journal and WAL files")
def test_journal_and_wal_files_are_private_too(make_app: MakeApp) -> None:
    app = make_app(persistent_database=True)
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE editor SET locale = 'x'"))  # a write: opens the journal
            conn.execute(
                text(
                    "INSERT INTO audit_event (at, editor, action, target) "
                    "VALUES ('2026-01-01', 'a', 'b', 'c')"
                )
            )
            journal = data_dir / "portal.sqlite3-journal"
            assert journal.exists()
            assert _mode(journal) == 0o600
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar() == "wal"
            conn.execute(text("DELETE FROM audit_event"))
            conn.commit()
            assert _mode(data_dir / "portal.sqlite3-wal") == 0o600
            assert _mode(data_dir / "portal.sqlite3-shm") == 0o600
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")


def test_an_older_installations_database_is_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = create_app(Settings(data_dir=data_dir, secret_key="k"))
    first.extensions["portal_storage_lock"].close()
    database = data_dir / "portal.sqlite3"
    os.chmod(database, 0o644)
    second = create_app(Settings(data_dir=data_dir, secret_key="k"))
    second.extensions["portal_storage_lock"].close()
    assert _mode(database) == 0o600


def test_secure_delete_is_on_and_a_deleted_row_leaves_no_trace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Debian builds SQLite with SECURE_DELETE on; other builds (and Python's own
    # bundled one on some systems) do not. Act as such a library would.
    real_connect = sqlite3.dbapi2.connect

    def connect_without_secure_delete(*args, **kwargs):
        connection = real_connect(*args, **kwargs)
        connection.execute("PRAGMA secure_delete=OFF")
        return connection

    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect_without_secure_delete)
    app = create_app(Settings(data_dir=tmp_path / "data", secret_key="k"))
    database = app.config["PORTAL_SETTINGS"].data_dir / "portal.sqlite3"
    # Tips are encrypted at rest; a row in plain text shows what SQLite leaves behind.
    with app.app_context():
        for number in range(40):
            db.session.add(AuditEvent(editor="MARKER-secure-delete-4f1d", action=str(number)))
        db.session.commit()
    assert b"MARKER-secure-delete-4f1d" in database.read_bytes()
    with app.app_context():
        assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1
        db.session.execute(db.delete(AuditEvent))
        db.session.commit()
    assert b"MARKER-secure-delete-4f1d" not in database.read_bytes()
    app.extensions["portal_storage_lock"].close()
