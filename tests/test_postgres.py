"""``PORTAL_DATABASE_URL=postgresql://...`` works with the ``postgres`` extra
(``pip install -e '.[postgres]'``, psycopg 3); without it the portal failed with
"No module named 'psycopg'". SQLAlchemy before 2.1 reads a bare ``postgresql://``
as psycopg2, which the extra does not install, so the portal names the driver.
On PostgreSQL (the suite's second pass, tests/postgres.py) the tables come only
from ``flask db upgrade``: a serving process finds an empty database, answers 503
until the upgrade has run elsewhere, then serves without a restart. Times read back
in UTC whatever the server's time zone (the suite's server runs in Pacific/Chatham).
A server that does not answer when a worker starts is the same: 503, then serving
once it answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from portal import database
from portal.config import Settings
from portal.models import AuditEvent, db
from tests import postgres
from tests.apps import DatabaseUrls, MakeApp, assert_waits_for_the_database, running_app


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
            assert_waits_for_the_database(client, "database schema")
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


@pytest.mark.postgresql_only("the server out of reach, then back")
def test_a_worker_started_while_the_server_is_out_of_reach_serves_once_it_answers(
    tmp_path: Path, database_urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker reaches the server through a socket path that leads nowhere at
    first (PostgreSQL restarting), then to the server's own socket."""
    assert database_urls.server is not None
    server_socket = database_urls.server.local_socket()
    if server_socket is None:
        pytest.skip("the server has no Unix socket on this machine (.ci/postgres makes one)")
    url = database_urls.server.database()
    port = str(database_urls.server.admin_url.port or 5432)
    route = tmp_path / "route"
    route.mkdir()
    through_route = (
        make_url(url)
        .set(host=None, port=None)
        .update_query_dict({"host": str(route), "port": port})
        .render_as_string(hide_password=False)
    )
    try:
        with running_app(tmp_path / "data", database_url=through_route, inbox_key=False) as app:
            client = app.test_client()
            assert_waits_for_the_database(client, "database")
            monkeypatch.setattr(database, "RECHECK_EVERY", 0.0)
            assert client.get("/healthz").status_code == 503  # still out of reach
            (route / server_socket.name).symlink_to(server_socket)  # the server is back
            assert client.get("/healthz").text == "ok\n"
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
