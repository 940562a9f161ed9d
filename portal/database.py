"""The database connection's safety settings, applied by the app itself.

* A SQLite database file is created (or, from an older installation, changed to)
  mode 0600 before SQLAlchemy first opens it. SQLite gives its -journal, -wal and
  -shm files the database file's own mode, so they are private too.
* Every SQLite connection runs ``PRAGMA secure_delete=ON``: deleted rows (a tip
  an editor deleted) are overwritten with zeros instead of left in free pages.
  Some SQLite builds do this by default, others do not; the app does not rely on it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url

from portal.models import db


def sqlite_path(database_uri: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, or one in memory)."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_file(app: Flask) -> None:
    """Create the SQLite file 0600 (or make an existing one so) before SQLite opens it."""
    path = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is not None:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)


def init_app(app: Flask) -> None:
    """Register the database with ``app``; nothing connects yet."""
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _secure_delete)


def _secure_delete(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()
