"""Schema migrations (Flask-Migrate): the head the app checks for is Alembic's, an
empty database upgraded step by step matches the tables the models describe, and
the last step refuses to drop columns that still hold plaintext."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from portal import database
from portal.models import db
from tests.apps import MakeApp


def test_head_is_alembics_head() -> None:
    from alembic.config import Config

    config = Config(str(database.MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(database.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [database.HEAD]


def _empty_app(make_app: MakeApp) -> Flask:
    """An app whose database has no table at all, as before the first migration."""
    app = make_app(inbox_key=False)
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()
    return app


def test_upgrading_an_empty_database_gives_the_models_tables(make_app: MakeApp) -> None:
    app = _empty_app(make_app)
    with app.app_context():
        assert database.state() == "empty"
        upgrade(directory=str(database.MIGRATIONS))
        assert database.state() == "current"
        with db.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
        if db.engine.dialect.name == "sqlite":  # it overwrites what it deletes
            assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1


def test_the_last_step_refuses_while_plaintext_remains(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = _empty_app(make_app)
    with app.app_context():
        upgrade(directory=str(database.MIGRATIONS), revision="0002")
        db.session.execute(
            text(
                "INSERT INTO submission (id, created_at, locale, note, links, contact, refused,"
                " is_read, is_starred, is_archived) VALUES ('a', CURRENT_TIMESTAMP, 'es',"
                " 'in clear', '', '', '[]', false, false, false)"
            )
        )
        db.session.commit()
        with pytest.raises(SystemExit):  # what `flask db upgrade` exits with
            upgrade(directory=str(database.MIGRATIONS))
        assert "flask --app app inbox encrypt --editor NAME" in caplog.text
        assert database.state() == f"at revision 0002, not {database.HEAD}: run flask db upgrade"
        assert db.session.execute(text("SELECT note FROM submission")).scalar() == "in clear"
