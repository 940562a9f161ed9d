"""``PORTAL_DATABASE_URL=postgresql://...`` works with the ``postgres`` extra
(``pip install -e '.[postgres]'``, psycopg 3); without it the portal failed with
"No module named 'psycopg'". SQLAlchemy before 2.1 reads a bare ``postgresql://``
as psycopg2, which the extra does not install, so the portal names the driver.
On PostgreSQL (the suite's second pass, tests/postgres.py) the tables come only
from ``flask db upgrade``: a serving process finds an empty database, answers 503
until the upgrade has run elsewhere, then serves without a restart. Times read back
in UTC whatever the server's time zone (the suite's server runs in Pacific/Chatham)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from portal import database
from portal.config import Settings
from portal.models import AuditEvent, db
from tests import postgres
from tests.apps import DatabaseUrls, MakeApp, running_app


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://portal@127.0.0.1:5432/portal",
            "postgresql+psycopg://portal@127.0.0.1:5432/portal",
        ),
        ("postgres://portal@db/portal", "postgresql+psycopg://portal@db/portal"),
        ("postgresql+psycopg://portal@db/portal", "postgresql+psycopg://portal@db/portal"),
        ("sqlite:////srv/portal/p.sqlite3", "sqlite:////srv/portal/p.sqlite3"),
    ],
)
def test_postgresql_urls_use_psycopg_3(tmp_path: Path, given: str, used: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=given)
    assert settings.database_uri == used
    engine = create_engine(settings.database_uri)
    assert engine.dialect.name in {"postgresql", "sqlite"}
    if engine.dialect.name == "postgresql":
        assert engine.dialect.driver == "psycopg"


@pytest.mark.postgresql_only("an empty SQLite database gets its tables at the first start")
def test_an_empty_database_is_served_once_flask_db_upgrade_has_run(
    tmp_path: Path, database_urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_urls.empty(tmp_path / "data")
    try:
        with running_app(tmp_path / "data", database_url=url, inbox_key=False) as app:
            client = app.test_client()
            assert client.get("/en/").status_code == 503
            health = client.get("/healthz")
            assert (health.status_code, health.text) == (503, "unavailable: database schema\n")
            with app.app_context():
                assert database.state() == "empty"  # the start created nothing
            # Commands that need the tables say what to run instead of failing later.
            listed = app.test_cli_runner().invoke(args=["editor", "list"])
            assert listed.exit_code != 0
            assert "not ready: no tables yet: run flask db upgrade" in listed.output
            postgres.migrate(url)  # flask db upgrade, run by the operator elsewhere
            assert client.get("/healthz").status_code == 503  # not rechecked yet
            monkeypatch.setattr(database, "RECHECK_EVERY", 0.0)
            assert client.get("/healthz").status_code == 200
            assert client.get("/en/").status_code == 200
    finally:
        database_urls.dispose(url)


def test_times_read_back_in_utc_whatever_the_servers_zone(make_app: MakeApp) -> None:
    app = make_app()
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with app.app_context():
        db.session.add(AuditEvent(at=moment, editor="ana", action="test", target=""))
        db.session.commit()
        db.session.expire_all()
        read = db.session.scalar(select(AuditEvent.at).where(AuditEvent.action == "test"))
    assert read == moment
    assert read.utcoffset() is not None and read.utcoffset().total_seconds() == 0
    assert read.strftime("%H:%M") == "12:00"
