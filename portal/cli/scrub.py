"""``flask scrub INPUT OUTPUT``: clean one file exactly as an upload is cleaned."""

import click


@click.command("scrub")
def scrub_command() -> None:
    """Not written yet."""
    raise click.ClickException("not written yet")
