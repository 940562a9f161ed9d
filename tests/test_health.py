"""``/healthz`` answers in every serving mode without reading tip data, sets no
cookie, and says 503 when the database cannot be reached, from the start too: a
worker that gunicorn starts or replaces while the database does not answer starts
all the same and answers 503 (one failing to boot makes gunicorn stop them all)."""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from portal import create_app
from portal.config import Settings
from portal.models import db
from tests.apps import assert_waits_for_the_database


@pytest.fixture(params=["all", "public", "inbox"])
def served(request, tmp_path: Path):
    app = create_app(Settings(data_dir=tmp_path / "data", secret_key="k", serve=request.param))
    yield app
    app.extensions["portal_storage_lock"].close()


def test_healthz_answers_and_reads_no_table(served) -> None:
    statements: list[str] = []
    with served.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = served.test_client().get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert statements == ["SELECT 1"]


def test_healthz_says_503_when_the_database_is_gone(served) -> None:
    database = served.config["PORTAL_SETTINGS"].data_dir / "portal.sqlite3"
    database.unlink()
    database.mkdir()  # SQLite cannot open a folder
    with served.app_context():
        db.engine.dispose()
    response = served.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable: database\n"
    shutil.rmtree(database)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port bound and never listened on: connections to it are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def test_a_worker_starts_while_postgresql_does_not_answer(
    tmp_path: Path, refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL's driver: pip install -e '.[postgres]'")
    url = f"postgresql://portal:s3cret@127.0.0.1:{refused_port}/portal"
    with caplog.at_level(logging.INFO):
        app = create_app(Settings(data_dir=tmp_path / "data", secret_key="k", database_url=url))
    try:
        page = assert_waits_for_the_database(app.test_client(), "database", "es")
        assert "Hubo un error en el sitio" in page and "no se guardó nada" in page
        assert "portal_storage_lock" in app.extensions  # it serves the folder as any worker
    finally:
        app.extensions["portal_storage_lock"].close()
    said = [r.getMessage() for r in caplog.records if r.name.startswith("portal")]
    assert said == [
        "the database does not answer (OperationalError); the portal answers 503 until it does"
    ]
