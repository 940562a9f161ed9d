"""``/healthz`` answers in every serving mode without reading tip data, sets no
cookie, and says 503 when the database cannot be reached."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import event

from portal import create_app
from portal.config import Settings
from portal.models import db


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
