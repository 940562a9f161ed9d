"""``flask inbox``: the inbox key's life (docs/encryption.md).

* ``recover NAME``: with the recovery key, give NAME (an existing editor, or a new
  one) a new password and TOTP secret: the way back when every password is lost.
* ``rotate``: a new key pair, everything re-encrypted to it, a new recovery key.
* ``encrypt --editor NAME``: upgrade an installation made before encryption at rest.

Secrets are asked on the terminal, or read one per line from stdin in the order they
would be asked (see :mod:`portal.cli.editor`).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from portal import database, open_data_folder
from portal.cli.editor import (
    authorise,
    by_option,
    print_recovery_key,
    print_totp,
    read_line,
    read_new_password,
    read_recovery_key,
    recovery_option,
)
from portal.inbox import accounts, legacy, rotation
from portal.inbox.accounts import AccountError


@click.group("inbox", cls=AppGroup)
@with_appcontext
def inbox_group() -> None:
    """The inbox key: recovery, rotation, upgrade."""
    # `encrypt` upgrades a database that is not at the current revision yet
    open_data_folder(current_app, schema_ready=False)


def _require_current_schema() -> None:
    reason = current_app.extensions[database.PENDING]
    if reason:
        raise click.ClickException(f"The database is not ready: {reason}.")


def _progress(label: str) -> rotation.Progress:
    def report(done: int, total: int) -> None:
        if total and (done == total or done % max(1, total // 20) == 0):
            click.echo(f"{label}: {done} of {total} ({100 * done // total} %)")

    return report


@inbox_group.command("recover")
@click.argument("name")
def recover(name: str) -> None:
    """With the recovery key, reset editor NAME (or create them) with a new password
    and TOTP secret."""
    _require_current_schema()
    keyring = read_recovery_key()
    try:
        new = accounts.recover(name, read_new_password(), keyring)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Editor {name!r} can sign in again with the new password and code.")
    print_totp(new)


@inbox_group.command("rotate")
@by_option
@recovery_option
def rotate(authoriser: str, use_recovery: bool) -> None:
    """Re-encrypt every tip and file to a new key pair and print the new recovery key.
    Every editor is signed out; their passwords and codes stay as they are."""
    _require_current_schema()
    keyring = authorise(authoriser, use_recovery)
    settings = current_app.config["PORTAL_SETTINGS"]
    try:
        recovery_key = rotation.rotate(settings.data_dir, keyring, _progress("Re-encrypted"))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo("Every tip and file is now encrypted to the new key; the old one opens nothing.")
    print_recovery_key(recovery_key)
    click.echo("The old recovery key no longer opens this inbox: destroy it.")


@inbox_group.command("encrypt")
@click.option("--editor", "name", required=True, help="The editor whose password makes the key.")
def encrypt(name: str) -> None:
    """Upgrade an installation made before encryption at rest: encrypt every tip and
    file in place and finish the schema upgrade. Asks NAME's current password."""
    try:
        if not legacy.needs_encrypting():
            raise click.ClickException("This installation is encrypted already.")
        password = read_line(f"Current password of {name}")
        settings = current_app.config["PORTAL_SETTINGS"]
        done = legacy.encrypt_installation(
            settings.data_dir, name, password, _progress("Encrypted")
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    database.mark_ready(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Encrypted {done.submissions} submissions and {done.files} files.")
    click.echo(f"Editor {name!r} signs in as before (same password and code).")
    if done.recovery_key:
        print_recovery_key(done.recovery_key)
    for other in done.editors_to_reset:
        click.echo(f"Editor {other!r} must be reset: flask editor reset {other} --by {name}")
