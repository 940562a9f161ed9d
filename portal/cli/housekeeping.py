"""``flask housekeeping``: sweep the data folder now (deploy/ runs it from a timer).

Serving processes already sweep at start, at each tip and every few seconds; this
command covers a data folder that nothing is serving (after a crash of the whole
service) and is where periodic maintenance belongs. With no server running it
removes everything under tmp/ and every submission folder without a database row;
while servers run, only request folders of ended processes and stale temporary
entries. Prints one line saying what it removed.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal import open_data_folder
from portal.housekeeping import sweep_storage


@click.command("housekeeping")
@with_appcontext
def housekeeping_command() -> None:
    """Remove what interrupted uploads and crashes left in the data folder."""
    open_data_folder(current_app)
    swept = sweep_storage(current_app)
    scope = "no server running" if swept.alone else "servers running"
    click.echo(
        f"housekeeping ({scope}): removed {swept.temporary} temporary entries "
        f"and {swept.unfiled} unfiled submission folders"
    )
