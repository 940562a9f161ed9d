"""The portal's app factory: settings, database, languages, headers, and the
blueprints this process serves (``PORTAL_SERVE``: public, inbox or all).

Importing any module of the package runs this file first, so it imports nothing
heavy itself: ``flask scrub`` needs the cleaner and ``flask translate`` the catalogue
tools, not Flask-SQLAlchemy and the blueprints. :func:`create_app` imports what the
web app needs when it runs.

A serving process (gunicorn, ``flask run``, the tests) creates the data folder on
first start (and, on SQLite only, its tables: see :mod:`portal.database`), and
sweeps what a crash left, taking its host's serving lock, whether the database is
ready or not (:mod:`portal.housekeeping`). Any other ``flask`` command
touches no data folder when the app is made: those that need one call
:func:`open_data_folder`, which refuses a folder that does not exist, so a command
run without the server's ``PORTAL_DATA_DIR`` fails instead of quietly making a
second installation.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from portal.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from flask import Flask

    from portal import database, errors, health, i18n, labels, logs, notify, security
    from portal.cli import register_commands
    from portal.config import Settings, load_secret_key
    from portal.housekeeping import start_sweeper
    from portal.paths import STATIC, TEMPLATES

    app = Flask(
        __name__,
        template_folder=str(TEMPLATES),
        static_folder=str(STATIC),
        instance_relative_config=True,
    )
    if settings is None:
        settings = Settings.from_env(default_data_dir=Path(app.instance_path))
    data_dir = Path(settings.data_dir).resolve()
    settings = settings.with_overrides(data_dir=data_dir)
    serving = not _loaded_by_a_command()
    if serving:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)

    app.config.update(
        PORTAL_SETTINGS=settings,
        # Commands sign nothing: they neither need the key nor may create its file.
        SECRET_KEY=load_secret_key(settings) if serving else settings.secret_key or None,
        SQLALCHEMY_DATABASE_URI=settings.database_uri,
        MAX_CONTENT_LENGTH=settings.max_submission_size,
        MAX_FORM_MEMORY_SIZE=settings.max_note_length * 4 + 64 * 1024,
        MAX_FORM_PARTS=settings.max_files + 50,
        WTF_CSRF_TIME_LIMIT=settings.csrf_time_limit,
        WTF_CSRF_SSL_STRICT=False,  # with no Referer sent, strict checking would fail
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="portal_session",
        # Flask refuses any session cookie older than this, permanent or not: it must
        # outlive a slow upload's CSRF token. Editors' idle expiry is enforced by the
        # inbox itself.
        PERMANENT_SESSION_LIFETIME=max(settings.csrf_time_limit, settings.editor_idle_timeout),
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )

    logs.init_logging()
    database.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    notify.init_app(app, settings)
    health.init_app(app)
    register_commands(app)

    if settings.serve in {"all", "public"}:
        from portal.public import make_blueprint as make_public

        app.register_blueprint(make_public(settings))
    if settings.serve in {"all", "inbox"}:
        from portal.inbox import make_blueprint as make_inbox

        app.register_blueprint(make_inbox(settings))

    if serving:
        _prepare_data_folder(app)
        if settings.serve in {"all", "public"}:
            # uploads arrive here: sweep what dead workers left (setting the event stops it)
            app.extensions["portal_sweeper"] = start_sweeper(app)
    return app


def open_data_folder(app: Flask, *, schema_ready: bool = True) -> None:
    """For a ``flask`` command: use the existing data folder, or stop with an error
    that names the folder and the setting. With ``schema_ready``, also stop when the
    database is not at the current revision, saying what to run (an empty SQLite
    database gets its tables, as at the server's first start)."""
    import click

    data_dir: Path = app.config["PORTAL_SETTINGS"].data_dir
    if not data_dir.is_dir():
        raise click.ClickException(
            f"There is no data folder at {data_dir}. Set PORTAL_DATA_DIR to the folder "
            "the server uses (export PORTAL_DATA_DIR=...), or start the server once "
            "to create it."
        )
    with app.app_context():
        ready = _prepare_database(app)
    if schema_ready and not ready:
        from portal import database

        reason = app.extensions[database.PENDING]
        raise click.ClickException(f"The database is not ready: {reason}.")


def _prepare_data_folder(app: Flask) -> None:
    from portal.housekeeping import sweep_storage

    with app.app_context():
        ready = _prepare_database(app)
        # Whatever the database's state: a process waiting for `flask db upgrade`
        # serves on its own once it is done, and must hold its host's lock by then.
        sweep_storage(app, database_ready=ready)


def _prepare_database(app: Flask) -> bool:
    """Check the tables, or create them in an empty SQLite database
    (:func:`portal.database.prepare`); whether ready."""
    from portal import database
    from portal.models import db

    database.create_file(app)
    with app.app_context():
        engine = db.engine
    if not database.creates_tables(engine):
        return database.prepare(app)
    with _exclusive(app.config["PORTAL_SETTINGS"].data_dir / "init.lock"):
        # gunicorn workers start at once: one creates the tables (one host: SQLite)
        return database.prepare(app)


def _loaded_by_a_command() -> bool:
    """Whether a ``flask`` command other than ``flask run`` is making the app."""
    import click

    context = click.get_current_context(silent=True)
    return context is not None and context.info_name != "run"


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
