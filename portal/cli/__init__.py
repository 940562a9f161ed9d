"""``flask`` commands: one module per command group.

``flask translate`` works on files and needs no app: it is a Flask plugin command (a
``flask.commands`` entry point in pyproject.toml), so ``flask translate compile`` works
while the app refuses to start for want of a compiled catalogue. The others are
registered on the app here.
"""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from portal.cli import editor, scrub

    app.cli.add_command(scrub.scrub_command)
    app.cli.add_command(editor.editor_group)
