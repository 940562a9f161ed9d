"""The database's life: migrations (Flask-Migrate, ``flask db upgrade``), the check
made at every start, and SQLite's settings.

At start (:func:`prepare`, under a file lock so that gunicorn workers starting
together do it once): an empty database gets the current tables and is marked as
being at :data:`HEAD`; one at ``HEAD`` is used as it is; any other (an older
revision, or tables made before migrations existed) is left untouched and the
portal answers 503 until ``flask db upgrade`` (and, for an installation made before
encryption at rest, ``flask inbox encrypt``) has been run. The start never migrates
by itself: an upgrade is an operator's decision, made with a backup at hand.

SQLite runs with ``secure_delete`` on every connection, in every process
(commands included), so deleted rows (an ended session's sealed keyring, a deleted
tip) are overwritten in the database file rather than left in free pages, whatever
the SQLite build's default. The SQLite file is created (or, from an older
installation, changed to) mode 0600 before SQLite first opens it
(:func:`create_file`); SQLite gives its -journal, -wal and -shm files the database
file's own mode, so they are private too.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, abort
from flask_migrate import Migrate
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url

from portal.models import db

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: the newest revision under migrations/versions (a test checks it is Alembic's head)
HEAD = "0005"
#: app.extensions key: why the database cannot be used yet ("" when it can)
_PENDING = "portal_schema_pending"


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
    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    app.extensions[_PENDING] = ""
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_settings)

    @app.before_request
    def refuse_until_upgraded() -> None:
        if app.extensions[_PENDING]:
            abort(503)


def _sqlite_settings(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def state() -> str:
    """``"empty"``, ``"current"``, or why the database is not ready."""
    tables = set(inspect(db.engine).get_table_names())
    if not tables:
        return "empty"
    if "alembic_version" not in tables:
        return "made before migrations: run flask db upgrade, then flask inbox encrypt"
    version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.session.rollback()
    if version == HEAD:
        return "current"
    return f"at revision {version}, not {HEAD}: run flask db upgrade"


def prepare(app: Flask) -> bool:
    """Create or check the tables (inside an app context). Returns whether the
    database is ready; when not, requests get a 503 and the log says what to run."""
    engine: Engine = db.engine
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_settings):
        event.listen(engine, "connect", _sqlite_settings)
    found = state()
    if found == "empty":
        db.create_all()
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
            )
            connection.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": HEAD})
        found = "current"
    app.extensions[_PENDING] = "" if found == "current" else found
    if found != "current":
        log.error("the database is not ready (%s); the portal answers 503 until then", found)
    return found == "current"


def mark_ready(app: Flask) -> None:
    """After an upgrade run in this process: serve again."""
    app.extensions[_PENDING] = ""
