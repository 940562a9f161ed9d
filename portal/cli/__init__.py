"""``flask`` commands: one module per command group, registered here."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from portal.cli import editor, inbox, scrub, translate

    app.cli.add_command(scrub.scrub_command)
    app.cli.add_command(editor.editor_group)
    app.cli.add_command(inbox.inbox_group)
    app.cli.add_command(translate.translate_group)
