"""The PostgreSQL server of the suite's second pass: one fresh database per test app.

``.ci/run`` starts a throwaway server (``.ci/postgres``) and names it in
:data:`ENV`; any server on which that URL's user may create databases will do. The
schema is made the way production makes it, once per run: ``flask db upgrade``'s
migrations on an empty database, which then serves as the template of every test
database (``CREATE DATABASE ... TEMPLATE``, a file copy of a few milliseconds).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

#: the environment variable naming the server (a superuser's URL, database postgres)
ENV = "PORTAL_TEST_POSTGRESQL"
#: every database the suite makes starts with this, so that a crashed run's are found
PREFIX = "portal_test_"


class PostgresServer:
    """Databases for test apps on one server, each copied from a migrated template."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._admin = psycopg.connect(_libpq(self.admin_url), autocommit=True)
        self._template = ""
        self._made: set[str] = set()

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def database(self, name: str = "") -> str:
        """The URL of database ``name`` (made at head if it does not exist), or of a
        new one with a random name."""
        name = name or f"{PREFIX}{secrets.token_hex(8)}"
        if name not in self._made:
            self._admin.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{self._migrated_template()}" '
                "STRATEGY FILE_COPY"
            )
            self._made.add(name)
        return self.url(name)

    def database_for(self, data_dir: Path, *, at_head: bool) -> str:
        """The one database of the installation on ``data_dir``: made empty, or at
        the head revision (``at_head``: copied from the template when new, migrated
        when it exists without tables, as ``flask db upgrade`` would)."""
        digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
        name = f"{PREFIX}{digest}"
        if name not in self._made:
            if at_head:
                return self.database(name)
            self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            self._made.add(name)
        url = self.url(name)
        if at_head and not _has_tables(url):
            migrate(url)
        return url

    def empty_database(self) -> str:
        """A new database with no table, as a new installation's is."""
        name = f"{PREFIX}{secrets.token_hex(8)}"
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        self._made.add(name)
        return self.url(name)

    def local_socket(self) -> Path | None:
        """The server's Unix socket, when it has one on this machine (.ci/postgres
        makes one); else None."""
        found = self._admin.execute("SHOW unix_socket_directories").fetchone()
        port = self.admin_url.port or 5432
        for folder in str(found[0] if found else "").split(","):
            path = Path(folder.strip()) / f".s.PGSQL.{port}"
            if folder.strip() and path.is_socket():
                return path
        return None

    def drop(self, url: str) -> None:
        """Drop a database made here (the apps on it closed or not)."""
        name = make_url(url).database
        if name in self._made:
            self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._made.discard(name)

    def close(self) -> None:
        for name in sorted(self._made):
            self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self._template:
            self._admin.execute(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
        self._admin.close()

    def _migrated_template(self) -> str:
        if not self._template:
            name = f"{PREFIX}template_{secrets.token_hex(4)}"
            self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            self._template = name
            migrate(self.url(name))
        return self._template


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the head revision with the portal's own
    migrations, as ``flask db upgrade`` does."""
    from flask_migrate import upgrade

    from portal import create_app, database
    from portal.config import Settings
    from portal.models import db

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), database_url=url, serve="inbox")
        app = create_app(settings.with_overrides(secret_key="migrate"))
        with app.app_context():
            upgrade(directory=str(database.MIGRATIONS))
            db.engine.dispose()


def _has_tables(url: str) -> bool:
    with psycopg.connect(_libpq(make_url(url)), autocommit=True) as connection:
        found = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    return bool(found and found[0])


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def server_url() -> str:
    """The server named in :data:`ENV`, or ``""``."""
    return os.environ.get(ENV, "")
