"""Account changes: creating the inbox with its first editor, adding, resetting,
removing and unlocking editors, and the authorisations they need. ``flask editor``,
``flask inbox`` and the tests all go through here; nothing here reads a terminal.

Keys (docs/encryption.md): each editor has an age key pair. The private half is kept
only wrapped under their password; the inbox identities (their keyring) and their
TOTP secret are kept encrypted to the public half. So giving an editor access needs
the inbox identities, which come from another editor's password
(:func:`authorise_by_editor`) or from the recovery key (:func:`authorise_by_recovery`),
and never from the disk alone. The first editor's creation makes the inbox key pair;
its identity is the recovery key, shown once.

Every change writes an audit entry and commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from portal.crypto import age
from portal.crypto.keyring import Keyring
from portal.inbox import audit, credentials, sessions
from portal.models import Editor, InboxKey, db


class AccountError(Exception):
    """A change that cannot be made; the message is for the person at the terminal."""


@dataclass(frozen=True)
class NewCredentials:
    """What an added or reset editor must be told: their new TOTP secret."""

    name: str
    totp_secret: str


def inbox_exists() -> bool:
    return (db.session.scalar(select(func.count()).select_from(InboxKey)) or 0) > 0


def find(name: str) -> Editor:
    editor: Editor | None = db.session.scalar(select(Editor).where(Editor.name == name))
    if editor is None:
        raise AccountError(f"No editor is called {name!r}.")
    return editor


def _check_new(name: str, password: str) -> None:
    if not credentials.NAME_PATTERN.match(name):
        raise AccountError("A name has 1 to 64 letters, digits, dots, hyphens or underscores.")
    if db.session.scalar(select(Editor).where(Editor.name == name)) is not None:
        raise AccountError(f"An editor called {name!r} already exists.")
    problem = credentials.password_problem(password)
    if problem:
        raise AccountError(problem)


def give_keys(editor: Editor, password: str, keyring: Keyring, totp_secret: str) -> None:
    """A fresh key pair for ``editor``, its private half wrapped under ``password``,
    and the keyring and TOTP secret encrypted to it."""
    identity = age.Identity.generate()
    editor.public_key = str(identity.recipient)
    editor.private_key = credentials.wrap_private_key(identity, password)
    editor.keyring = age.encrypt(keyring.to_text().encode("ascii"), [identity.recipient])
    editor.totp_sealed = age.encrypt(totp_secret.encode("ascii"), [identity.recipient])


def reseal_keyring(editor: Editor, keyring: Keyring) -> None:
    """Give ``editor`` a new keyring, without their password (a rotation)."""
    if editor.public_key:
        recipient = age.Recipient.parse(editor.public_key)
        editor.keyring = age.encrypt(keyring.to_text().encode("ascii"), [recipient])


def create_inbox(name: str, password: str, timezone: str = "") -> tuple[NewCredentials, str]:
    """The inbox key pair and its first editor. Returns the editor's credentials and
    the recovery key (the inbox identity), which is stored nowhere."""
    if inbox_exists():
        raise AccountError("The inbox already has its key; add editors with another's consent.")
    _check_new(name, password)
    identity = age.Identity.generate()
    key = InboxKey(public_key=str(identity.recipient))
    db.session.add(key)
    db.session.flush()
    secret = credentials.new_totp_secret()
    editor = Editor(name=name, timezone=timezone)
    give_keys(editor, password, Keyring({key.id: identity}), secret)
    db.session.add(editor)
    audit.record(audit.COMMAND_LINE, audit.INBOX_CREATED)
    audit.record(audit.COMMAND_LINE, audit.EDITOR_ADDED, name)
    db.session.commit()
    return NewCredentials(name, secret), str(identity)


def authorise_by_editor(name: str, password: str) -> Keyring:
    """The keyring of the editor ``name``, if ``password`` is theirs."""
    editor = db.session.scalar(select(Editor).where(Editor.name == name))
    identity = credentials.open_private_key(editor, password) if editor else None
    if editor is None or identity is None:
        raise AccountError("That editor's name or password is wrong.")
    return credentials.open_keyring(editor, identity)


def authorise_by_recovery(recovery_key: str) -> Keyring:
    """A keyring holding the inbox identity that ``recovery_key`` is."""
    try:
        identity = age.Identity.parse(recovery_key)
    except (age.AgeError, ValueError):
        raise AccountError("That is not a recovery key (AGE-SECRET-KEY-1…).") from None
    public = str(identity.recipient)
    key = db.session.scalar(select(InboxKey).where(InboxKey.public_key == public))
    if key is None:
        raise AccountError("That recovery key does not belong to this inbox.")
    return Keyring({key.id: identity})


def add_editor(name: str, password: str, keyring: Keyring, timezone: str = "") -> NewCredentials:
    if not inbox_exists():
        raise AccountError("There is no inbox yet: the first editor creates it.")
    _check_new(name, password)
    secret = credentials.new_totp_secret()
    editor = Editor(name=name, timezone=timezone)
    give_keys(editor, password, keyring, secret)
    db.session.add(editor)
    audit.record(audit.COMMAND_LINE, audit.EDITOR_ADDED, name)
    db.session.commit()
    return NewCredentials(name, secret)


def reset_editor(name: str, password: str, keyring: Keyring) -> NewCredentials:
    """New password, new key pair and new TOTP secret for ``name``; their sessions
    end (the sealed keyrings in them are deleted)."""
    editor = find(name)
    problem = credentials.password_problem(password)
    if problem:
        raise AccountError(problem)
    secret = credentials.new_totp_secret()
    give_keys(editor, password, keyring, secret)
    editor.last_totp_step = 0
    editor.failed_attempts = 0
    editor.locked_until = None
    sessions.end_all(editor.id)
    audit.record(audit.COMMAND_LINE, audit.EDITOR_RESET, name)
    db.session.commit()
    return NewCredentials(name, secret)


def recover(name: str, password: str, keyring: Keyring) -> NewCredentials:
    """Reset ``name``, or add them when there is no such editor (every password lost)."""
    exists = db.session.scalar(select(Editor).where(Editor.name == name)) is not None
    if exists:
        return reset_editor(name, password, keyring)
    return add_editor(name, password, keyring)


def remove_editor(name: str) -> int:
    """Delete the account, its wrapped keys and its sessions. Returns how many
    editors who can sign in remain."""
    editor = find(name)
    sessions.end_all(editor.id)
    db.session.delete(editor)
    audit.record(audit.COMMAND_LINE, audit.EDITOR_REMOVED, name)
    db.session.commit()
    return (
        db.session.scalar(
            select(func.count()).select_from(Editor).where(Editor.private_key.is_not(None))
        )
        or 0
    )


def unlock_editor(name: str) -> None:
    editor = find(name)
    editor.failed_attempts = 0
    editor.locked_until = None
    audit.record(audit.COMMAND_LINE, audit.EDITOR_UNLOCKED, name)
    db.session.commit()
