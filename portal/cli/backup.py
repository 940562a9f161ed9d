"""``flask backup DEST`` and ``flask restore SRC``: a consistent backup of the
installation (database, stored files, wrapped keys; never a session or the secret
key), and bringing one back into an empty installation. The work is
:mod:`portal.backup`; docs/operations.md says when to run them and what to keep
apart from a backup (the recovery key).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal import database, open_data_folder
from portal.backup import BackupError, make_backup, restore_backup


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Write a backup of the database and the stored files to DEST, a new folder.
    Safe while the portal runs."""
    open_data_folder(current_app)
    settings = current_app.config["PORTAL_SETTINGS"]
    try:
        made = make_backup(settings.data_dir, current_app.config["SQLALCHEMY_DATABASE_URI"], dest)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Backup written to {made.path}: {made.submissions} submissions, {made.files} files, "
        f"{made.size / 1_000_000:.1f} MB."
    )
    if made.left_out:
        click.echo(f"Left out {len(made.left_out)} submissions deleted while it ran.")
    if made.missing:
        click.echo(
            f"Warning: {len(made.missing)} files the database names are missing from the "
            "data folder itself (listed as missing in manifest.json):",
            err=True,
        )
        for name in made.missing:
            click.echo(f"  {name}", err=True)
    click.echo(
        "It is encrypted like the server: keep it away from the recovery key, which opens it."
    )


@click.command("restore")
@click.argument("src", type=click.Path(path_type=Path, exists=True, file_okay=False))
@with_appcontext
def restore_command(src: Path) -> None:
    """Restore the backup in SRC into this installation, which must be empty and
    stopped. Every file's checksum is verified; on any error nothing is restored."""
    settings = current_app.config["PORTAL_SETTINGS"]
    try:
        done = restore_backup(src, settings.data_dir, current_app.config["SQLALCHEMY_DATABASE_URI"])
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {done.submissions} submissions and {done.files} files.")
    if done.revision != database.HEAD:
        click.echo(
            f"The backup's database is at revision {done.revision}: run "
            "`flask --app app db upgrade` before starting the portal."
        )
    click.echo("Start the portal; editors sign in again with their passwords and codes.")
