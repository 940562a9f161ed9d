"""``flask editor``: manage editors' accounts."""

import click


@click.group("editor")
def editor_group() -> None:
    """Manage editors' accounts."""
