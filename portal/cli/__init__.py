"""``flask`` commands: one module per command group.

``flask scrub`` and ``flask translate`` work on files and need no app: they are Flask
plugin commands (``flask.commands`` entry points in pyproject.toml), so they start
without building one (no database, no blueprints) and ``flask translate compile``
works while the app refuses to start for want of a compiled catalogue. ``flask
editor``, ``flask inbox``, ``flask housekeeping``, ``flask backup`` and ``flask
restore`` need the database and are
registered on the app here.
"""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from portal.cli import backup, editor, housekeeping, inbox

    app.cli.add_command(backup.backup_command)
    app.cli.add_command(backup.restore_command)
    app.cli.add_command(editor.editor_group)
    app.cli.add_command(inbox.inbox_group)
    app.cli.add_command(housekeeping.housekeeping_command)
