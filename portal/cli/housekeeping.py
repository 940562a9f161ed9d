"""``flask housekeeping``: sweep the data folder now (deploy/ runs it from a timer).

Serving processes already sweep at start, at each tip and every few seconds; this
command covers a data folder that nothing is serving (after a crash of the whole
service) and is where periodic maintenance belongs. With no server running it
removes everything under tmp/ and every submission folder without a database row;
while servers run, only request folders of ended processes and stale temporary
entries. Then, when ``PORTAL_RETENTION_DAYS`` is set, it deletes the submissions
past that age (:mod:`portal.retention`). Prints what it removed.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal import database, open_data_folder
from portal.housekeeping import sweep_storage
from portal.retention import apply_retention


@click.command("housekeeping")
@with_appcontext
def housekeeping_command() -> None:
    """Remove what interrupted uploads and crashes left in the data folder, and
    submissions older than PORTAL_RETENTION_DAYS (starred ones are kept)."""
    open_data_folder(current_app)
    swept = sweep_storage(current_app)
    scope = "no server running" if swept.alone else "servers running"
    click.echo(
        f"housekeeping ({scope}): removed {swept.temporary} temporary entries "
        f"and {swept.unfiled} unfiled submission folders"
    )
    settings = current_app.config["PORTAL_SETTINGS"]
    if not settings.retention_days:
        return
    if database.state() != "current":
        raise click.ClickException(
            "The database needs upgrading (flask db upgrade): nothing was deleted"
        )
    deleted = apply_retention(settings.data_dir, settings.retention_days)
    click.echo(
        f"retention ({settings.retention_days} days): deleted {deleted} submissions "
        "without activity since then"
    )
