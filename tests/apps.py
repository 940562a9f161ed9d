"""Building the portal's app for a test: the settings every test app shares, the
database it keeps its tables in, and closing it.

Tests reach this through the ``make_app`` fixture (tests/conftest.py); a fixture of a
wider scope (one app for a whole module) uses :func:`running_app` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.config import Settings
from portal.inbox import credentials
from tests.inbox_keys import cheap_phrases, with_inbox_key
from tests.postgres import PostgresServer

MakeApp = Callable[..., Flask]

SECRET_KEY = "test-secret-key"
#: a cheap Argon2 so that the many sign-ins of the suite stay fast; one test checks
#: that the app's own default is the memory-hard one
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True)
class DatabaseUrls:
    """Where test apps keep their tables: the only place tests name a database.

    The suite runs twice over every test that uses a database (``database_urls`` in
    tests/conftest.py): on SQLite, in memory unless a test needs a file (on disk
    SQLite fsyncs every statement, which costs a third of a second per app), and on
    PostgreSQL (``server``), a fresh database per app, at the head revision as
    ``flask db upgrade`` leaves it (tests/postgres.py).
    """

    server: PostgresServer | None = None

    @property
    def kind(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self.server is None else "postgresql"

    def url(self, data_dir: Path, *, persistent: bool = False, started: bool = False) -> str:
        """The URL for an app on ``data_dir``: private to that app, or (``persistent``)
        the installation's own, shared by every app on that folder (on SQLite a file
        in ``data_dir``, with no tables until the first app starts). ``started``: as
        an app finds it, with the tables (on PostgreSQL ``flask db upgrade`` made them,
        as the operator runs it before the first start; on SQLite the start does)."""
        if self.server is not None:
            if persistent:
                return self.server.database_for(data_dir, at_head=started)
            return self.server.database()
        if persistent:
            return f"sqlite:///{data_dir / 'portal.sqlite3'}"
        return "sqlite://"

    def empty(self, data_dir: Path) -> str:
        """The URL of a database with no table at all, as a new installation's: on
        SQLite the file in ``data_dir``, on PostgreSQL a new database."""
        if self.server is not None:
            return self.server.empty_database()
        return f"sqlite:///{data_dir / 'portal.sqlite3'}"

    def dispose(self, url: str) -> None:
        """Throw away a database this object made (nothing to do on SQLite)."""
        if self.server is not None:
            self.server.drop(url)


def on_sqlite(app: Flask) -> bool:
    """Whether ``app`` keeps its tables in SQLite (the first pass of the suite)."""
    return str(app.config["PORTAL_SETTINGS"].database_uri).startswith("sqlite")


@contextmanager
def running_app(
    data_dir: Path, *, database_url: str, inbox_key: bool = True, **overrides: object
) -> Iterator[Flask]:
    """An app on ``data_dir`` for tests (TESTING on, the test secret key, a cheap
    password hash and phrase derivation), with settings changed by ``overrides``; its
    hold on the data folder is released on the way out. With ``inbox_key`` the inbox
    has its key already (see tests/inbox_keys.py), as once its first editor exists;
    without, the first editor added makes it."""
    overrides.setdefault("secret_key", SECRET_KEY)
    settings = Settings(data_dir=data_dir).with_overrides(database_url=database_url, **overrides)
    app = create_app(settings)
    app.config["TESTING"] = True
    app.extensions["portal_passwords"] = credentials.PasswordPolicy(FAST_HASHER)
    cheap_phrases(app)
    try:
        if inbox_key:
            with_inbox_key(app)
        yield app
    finally:
        close_app(app)


def close_app(app: Flask) -> None:
    """Release the app's storage lock: it stands for a process serving the data
    folder (see portal.housekeeping.sweep_storage), which a finished test no longer
    is. The database's connections go with it."""
    lock = app.extensions.get("portal_storage_lock")
    if lock is not None:
        lock.close()
    app.extensions["portal_notifier"].cancel()
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


def assert_waits_for_the_database(client: FlaskClient, why: str, lang: str = "en") -> str:
    """A portal that cannot use its database yet: its form answers 503 and /healthz
    says ``unavailable: <why>``. Returns the form's page."""
    page = client.get(f"/{lang}/")
    assert page.status_code == 503
    health = client.get("/healthz")
    assert (health.status_code, health.text) == (503, f"unavailable: {why}\n")
    return page.text
