"""``flask editor``: manage editors' accounts (add, list, remove, reset, unlock).

The changes themselves are :mod:`portal.inbox.accounts`; this module reads what they
need and prints what people must be told. Secrets are read from a hidden prompt, or,
when stdin is not a terminal, one per line in the order they would be asked, so
accounts can be scripted:

* the first ``add`` (it creates the inbox key): new password, confirmation;
* a later ``add`` or a ``reset``: the authorising secret first (with ``--by NAME``,
  NAME's password; with ``--recovery-key``, the recovery key), then the new
  password and its confirmation.

Adding or resetting an account prints its new TOTP secret, an ``otpauth://`` URI and
a QR code to scan with an authenticator app; the first ``add`` also prints the
recovery key, once.
"""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import segno
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from portal import open_data_folder
from portal.crypto.keyring import Keyring
from portal.inbox import accounts, credentials
from portal.inbox.accounts import AccountError, NewCredentials
from portal.models import Editor, db


@click.group("editor", cls=AppGroup)
@with_appcontext
def editor_group() -> None:
    """Manage editors' accounts."""
    open_data_folder(current_app)


by_option = click.option(
    "--by",
    "authoriser",
    metavar="NAME",
    default="",
    help="An existing editor who authorises this with their password.",
)
recovery_option = click.option(
    "--recovery-key",
    "use_recovery",
    is_flag=True,
    help="Authorise this with the inbox's recovery key instead.",
)


def _interactive() -> bool:
    return sys.stdin.isatty()


def read_line(prompt: str) -> str:
    if _interactive():
        return str(click.prompt(prompt, hide_input=True))
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException(f"Expected on stdin: {prompt.lower()}.")
    return line.rstrip("\r\n")


def read_new_password() -> str:
    if _interactive():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = read_line("New password")
        if password != read_line("Password confirmation"):
            raise click.ClickException("The two passwords do not match.")
    problem = credentials.password_problem(password)
    if problem:
        raise click.ClickException(problem)
    return str(password)


def read_recovery_key() -> Keyring:
    try:
        return accounts.authorise_by_recovery(read_line("Recovery key"))
    except AccountError as error:
        raise click.ClickException(str(error)) from None


def authorise(authoriser: str, use_recovery: bool) -> Keyring:
    """The inbox keyring, opened by another editor's password or the recovery key."""
    if authoriser and use_recovery:
        raise click.ClickException("Give either --by NAME or --recovery-key, not both.")
    if not authoriser and not use_recovery:
        if not _interactive():
            raise click.ClickException(
                "This needs an existing editor's password (--by NAME) "
                "or the recovery key (--recovery-key)."
            )
        authoriser = click.prompt(
            "Name of an editor who authorises this (leave empty to use the recovery key)",
            default="",
            show_default=False,
        ).strip()
        use_recovery = not authoriser
    if use_recovery:
        return read_recovery_key()
    try:
        return accounts.authorise_by_editor(authoriser, read_line(f"Password of {authoriser}"))
    except AccountError as error:
        raise click.ClickException(str(error)) from None


def _check_timezone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.ClickException(f"Unknown time zone {zone!r}.") from None
    return zone


def print_totp(new: NewCredentials) -> None:
    uri = credentials.totp_uri(new.name, new.totp_secret)
    click.echo(f"TOTP secret: {new.totp_secret}")
    click.echo(f"TOTP URI: {uri}")
    click.echo("Scan this code with an authenticator app, or type the secret into it:")
    segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)
    click.echo("Keep the secret private: with the password, it opens the inbox.")


def print_recovery_key(recovery_key: str) -> None:
    click.echo("")
    click.echo("RECOVERY KEY (shown only now; it is stored nowhere):")
    click.echo("")
    click.echo(f"    {recovery_key}")
    click.echo("")
    click.echo(
        "Print or write it down and keep it offline, away from this server. It opens\n"
        "every tip: with it, `flask inbox recover NAME` gives back access when every\n"
        "password is lost, and `age -d -i` decrypts stored files offline."
    )


def _fail(error: AccountError) -> click.ClickException:
    return click.ClickException(str(error))


@editor_group.command("add")
@click.argument("name")
@click.option("--timezone", default="", help="IANA time zone for dates, e.g. America/Tijuana.")
@by_option
@recovery_option
def add_editor(name: str, timezone: str, authoriser: str, use_recovery: bool) -> None:
    """Create an editor called NAME. The first one creates the inbox key and its
    recovery key; later ones need another editor's password or the recovery key."""
    if not credentials.NAME_PATTERN.match(name):
        raise click.ClickException(
            "A name has 1 to 64 letters, digits, dots, hyphens or underscores."
        )
    if db.session.scalar(select(Editor).where(Editor.name == name)) is not None:
        raise click.ClickException(f"An editor called {name!r} already exists.")
    if timezone:
        _check_timezone(timezone)
    try:
        if not accounts.inbox_exists():
            if authoriser or use_recovery:
                raise click.ClickException("There is no inbox yet: nothing to authorise with.")
            password = read_new_password()
            new, recovery_key = accounts.create_inbox(name, password, timezone)
            click.echo(f"Editor {name!r} created, with the inbox's key.")
            print_totp(new)
            print_recovery_key(recovery_key)
            return
        keyring = authorise(authoriser, use_recovery)
        new = accounts.add_editor(name, read_new_password(), keyring, timezone)
    except AccountError as error:
        raise _fail(error) from None
    click.echo(f"Editor {name!r} created.")
    print_totp(new)


@editor_group.command("list")
def list_editors() -> None:
    """List editors (tab-separated, with a header): lock state, time zone, failures."""
    editors = db.session.scalars(select(Editor).order_by(Editor.name)).all()
    if not editors:
        click.echo("No editors yet. Add one with: flask editor add NAME")
        return
    moment = credentials.now()
    click.echo("name\tstate\ttime zone\tfailed sign-ins\tcreated")
    for editor in editors:
        if not editor.private_key:
            state = "needs reset"
        elif credentials.is_locked(editor, moment):
            assert editor.locked_until is not None
            until = credentials.as_utc(editor.locked_until).strftime("%Y-%m-%d %H:%M UTC")
            state = f"locked until {until}"
        else:
            state = "active"
        created = credentials.as_utc(editor.created_at).strftime("%Y-%m-%d")
        click.echo(
            f"{editor.name}\t{state}\t{editor.timezone or '-'}\t{editor.failed_attempts}\t{created}"
        )


@editor_group.command("remove")
@click.argument("name")
def remove_editor(name: str) -> None:
    """Remove the editor called NAME, with their keys (their sessions end at once)."""
    try:
        remaining = accounts.remove_editor(name)
    except AccountError as error:
        raise _fail(error) from None
    click.echo(f"Editor {name!r} removed.")
    if remaining == 0:
        click.echo("No editor can sign in now: add one with `flask inbox recover NAME`.")
    else:
        click.echo(
            "If they left on bad terms, also run `flask inbox rotate`: they may have kept "
            "a copy of the inbox key."
        )


@editor_group.command("reset")
@click.argument("name")
@by_option
@recovery_option
def reset_editor(name: str, authoriser: str, use_recovery: bool) -> None:
    """Give NAME a new password, keys and TOTP secret; sign out their sessions.
    Needs another editor's password (or NAME's own) or the recovery key."""
    try:
        accounts.find(name)
        keyring = authorise(authoriser, use_recovery)
        new = accounts.reset_editor(name, read_new_password(), keyring)
    except AccountError as error:
        raise _fail(error) from None
    click.echo(f"Editor {name!r} reset. Their open sessions have ended.")
    print_totp(new)


@editor_group.command("unlock")
@click.argument("name")
def unlock_editor(name: str) -> None:
    """Lift a lockout on NAME after repeated failed sign-ins."""
    try:
        accounts.unlock_editor(name)
    except AccountError as error:
        raise _fail(error) from None
    click.echo(f"Editor {name!r} unlocked.")
