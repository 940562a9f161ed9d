"""``flask translate``: the translators' workflow, wrapping pybabel."""

import click


@click.group("translate")
def translate_group() -> None:
    """Update, compile and add translation catalogues."""
