"""The database's life: migrations (Flask-Migrate, ``flask db upgrade``), the check
made at every start, and SQLite's settings.

Table creation and upgrades go through migrations run once, by the operator, at
deploy (``flask db upgrade``); serving processes never change the schema of a
database they share. At start (:func:`prepare`) a database at :data:`HEAD` is used
as it is; any other (empty, an older revision, or tables made before migrations
existed) is left untouched and the portal answers 503 (``/healthz`` says
``unavailable: database schema``) and logs what to run. It checks again at most every
:data:`RECHECK_EVERY` seconds while requests arrive, so the processes of every host
start serving once the upgrade is done, without a restart. The start never migrates
by itself: an upgrade is an operator's decision, made with a backup at hand.

A database that does not answer at start (PostgreSQL restarting, or out of reach
for a moment while gunicorn starts or replaces a worker) is treated the same way:
the process starts, answers 503 (``/healthz`` says ``unavailable: database``), logs
one line naming only the error's type, and serves once a recheck finds the
database at :data:`HEAD`. A worker that failed to boot instead would make gunicorn
stop every worker, requests in progress with them.

One exception keeps the first command of README.md working: an *empty SQLite*
database gets the current tables at its first start (and is marked as being at
``HEAD``). SQLite is one file that only processes of one host may open (its own
locking needs a local filesystem), so the file lock that makes gunicorn workers
starting together do it once (``init.lock``, in portal/__init__.py) is enough there.
PostgreSQL, which several hosts share, is only ever created by ``flask db upgrade``.

SQLite runs with ``secure_delete`` on every connection, in every process
(commands included), so deleted rows (an ended session's sealed keyring, a deleted
tip) are overwritten in the database file rather than left in free pages, whatever
the SQLite build's default. The SQLite file is created (or, from an older
installation, changed to) mode 0600 before SQLite first opens it
(:func:`create_file`); SQLite gives its -journal, -wal and -shm files the database
file's own mode, so they are private too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, abort, request
from flask_migrate import Migrate
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from portal.models import db

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: the newest revision under migrations/versions (a test checks it is Alembic's head)
HEAD = "0005"
#: app.extensions key: why the database cannot be used yet ("" when it can)
PENDING = "portal_schema_pending"
#: the reason kept under :data:`PENDING` while the database does not answer
UNREACHABLE = "the database does not answer"
#: app.extensions keys: when the database was last checked, and the lock of a check
_CHECKED = "portal_schema_checked"
_CHECKING = "portal_schema_checking"
#: seconds between two checks of a database that was not ready
RECHECK_EVERY = 5.0


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
    app.extensions[PENDING] = ""
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_settings)

    @app.before_request
    def refuse_until_upgraded() -> None:
        # /healthz says why by itself
        if request.endpoint != "healthz" and pending(app):
            abort(503)


def _sqlite_settings(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def creates_tables(engine: Engine) -> bool:
    """Whether a start may create the tables of an empty database: SQLite only."""
    return engine.dialect.name == "sqlite"


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


def _checked_state() -> tuple[str, str]:
    """:func:`state` and ``""``, or, when the database does not answer,
    :data:`UNREACHABLE` and the name of the error's type (its message may hold the
    database's address)."""
    try:
        return state(), ""
    except SQLAlchemyError as error:
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        return UNREACHABLE, type(error).__name__


def _reason(found: str) -> str:
    """Why a database in state ``found`` (not ``"current"``) cannot be used."""
    return "no tables yet: run flask db upgrade" if found == "empty" else found


def prepare(app: Flask) -> bool:
    """Check the tables, or create them in an empty SQLite database (inside an app
    context). Returns whether the database is ready; when not (it does not answer,
    or needs ``flask db upgrade``), requests get a 503 and the log says why."""
    engine: Engine = db.engine
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_settings):
        event.listen(engine, "connect", _sqlite_settings)
    found, error = _checked_state()
    if found == "empty" and creates_tables(engine):
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
    reason = "" if found == "current" else _reason(found)
    app.extensions[PENDING] = reason
    app.extensions[_CHECKED] = time.monotonic()
    if error:
        log.error("the database does not answer (%s); the portal answers 503 until it does", error)
    elif reason:
        log.error("the database is not ready (%s); the portal answers 503 until then", reason)
    return not reason


def pending(app: Flask) -> str:
    """Why the database cannot be used yet, or ``""``. While it is not ready, checks
    again at most every :data:`RECHECK_EVERY` seconds (inside an app context)."""
    reason: str = app.extensions[PENDING]
    if not reason:
        return ""
    lock = app.extensions.setdefault(_CHECKING, threading.Lock())
    if time.monotonic() - app.extensions.get(_CHECKED, 0.0) < RECHECK_EVERY:
        return reason
    if not lock.acquire(blocking=False):
        return reason  # another thread is checking
    try:
        app.extensions[_CHECKED] = time.monotonic()
        found, _ = _checked_state()
        if found == "current":
            mark_ready(app)
            log.warning("the database is ready now: serving")
            return ""
        reason = _reason(found)
        app.extensions[PENDING] = reason
        return reason
    finally:
        lock.release()


def mark_ready(app: Flask) -> None:
    """After an upgrade run in this process: serve again."""
    app.extensions[PENDING] = ""
