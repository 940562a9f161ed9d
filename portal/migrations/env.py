"""Alembic's environment for ``flask db``: the app's engine and tables, SQLite
altered in batch mode (it cannot drop or change columns in place). Logging is the
portal's own: no ``fileConfig``, which would silence the app's loggers."""

from alembic import context
from flask import current_app

target_db = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    conf_args = current_app.extensions["migrate"].configure_args
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("The portal's migrations run against a database (no --sql mode).")
run_migrations_online()
