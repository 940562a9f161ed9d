"""``flask editor``: manage editors' accounts (add, list, remove, reset, unlock).

Passwords are read from a hidden prompt, or from stdin when stdin is not a terminal
(the password, then its confirmation, one per line), so accounts can be scripted.
Adding or resetting an account prints its new TOTP secret, an ``otpauth://`` URI and
a QR code to scan with an authenticator app.
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
from portal.inbox import audit, credentials
from portal.models import Editor, db


@click.group("editor", cls=AppGroup)
@with_appcontext
def editor_group() -> None:
    """Manage editors' accounts."""
    open_data_folder(current_app)


def _read_password() -> str:
    stdin = sys.stdin
    if stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = stdin.readline().rstrip("\r\n")
        confirmation = stdin.readline().rstrip("\r\n")
        if password != confirmation:
            raise click.ClickException("The two passwords do not match.")
    problem = credentials.password_problem(password)
    if problem:
        raise click.ClickException(problem)
    return password


def _find(name: str) -> Editor:
    editor = db.session.scalar(select(Editor).where(Editor.name == name))
    if editor is None:
        raise click.ClickException(f"No editor is called {name!r}.")
    return editor


def _check_timezone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.ClickException(f"Unknown time zone {zone!r}.") from None
    return zone


def _print_totp(name: str, secret: str) -> None:
    uri = credentials.totp_uri(name, secret)
    click.echo(f"TOTP secret: {secret}")
    click.echo(f"TOTP URI: {uri}")
    click.echo("Scan this code with an authenticator app, or type the secret into it:")
    segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)
    click.echo("Keep the secret private: with the password, it opens the inbox.")


@editor_group.command("add")
@click.argument("name")
@click.option("--timezone", default="", help="IANA time zone for dates, e.g. America/Tijuana.")
def add_editor(name: str, timezone: str) -> None:
    """Create an editor called NAME."""
    if not credentials.NAME_PATTERN.match(name):
        raise click.ClickException(
            "A name has 1 to 64 letters, digits, dots, hyphens or underscores."
        )
    if db.session.scalar(select(Editor).where(Editor.name == name)) is not None:
        raise click.ClickException(f"An editor called {name!r} already exists.")
    if timezone:
        _check_timezone(timezone)
    password = _read_password()
    secret = credentials.new_totp_secret()
    db.session.add(
        Editor(
            name=name,
            password_hash=credentials.hash_password(password),
            totp_secret=secret,
            timezone=timezone,
        )
    )
    audit.record(audit.COMMAND_LINE, audit.EDITOR_ADDED, name)
    db.session.commit()
    click.echo(f"Editor {name!r} created.")
    _print_totp(name, secret)


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
        if credentials.is_locked(editor, moment):
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
    """Remove the editor called NAME (their sessions end at once)."""
    editor = _find(name)
    db.session.delete(editor)
    audit.record(audit.COMMAND_LINE, audit.EDITOR_REMOVED, name)
    db.session.commit()
    click.echo(f"Editor {name!r} removed.")


@editor_group.command("reset")
@click.argument("name")
def reset_editor(name: str) -> None:
    """Give NAME a new password and a new TOTP secret; sign out their sessions."""
    editor = _find(name)
    password = _read_password()
    secret = credentials.new_totp_secret()
    editor.password_hash = credentials.hash_password(password)
    editor.totp_secret = secret
    editor.last_totp_step = 0
    editor.failed_attempts = 0
    editor.locked_until = None
    editor.session_version += 1
    audit.record(audit.COMMAND_LINE, audit.EDITOR_RESET, name)
    db.session.commit()
    click.echo(f"Editor {name!r} reset. Their open sessions have ended.")
    _print_totp(name, secret)


@editor_group.command("unlock")
@click.argument("name")
def unlock_editor(name: str) -> None:
    """Lift a lockout on NAME after repeated failed sign-ins."""
    editor = _find(name)
    editor.failed_attempts = 0
    editor.locked_until = None
    audit.record(audit.COMMAND_LINE, audit.EDITOR_UNLOCKED, name)
    db.session.commit()
    click.echo(f"Editor {name!r} unlocked.")
