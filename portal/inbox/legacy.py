"""Encrypting, in place, an installation made before encryption at rest
(``flask inbox encrypt --editor NAME``; docs/encryption.md, "Upgrading").

1. The schema is brought to revision 0002: the new tables and columns, beside the old
   plaintext ones.
2. NAME's password is checked against their old Argon2 hash; the inbox key pair is
   made and NAME gets their keys under that same password, with their TOTP secret
   (now encrypted), so their authenticator app keeps working.
3. Every submission's note, links and contact are sealed, and the plaintext columns
   emptied; every file is encrypted beside itself (``.age``), its row updated, then
   the plaintext overwritten with zeros and deleted. Files left in a submission's
   folder that no row names (a crash between two of those steps) are shredded too.
4. Other editors' old password hashes and TOTP secrets are erased (their passwords
   are unknown, so they cannot be given keys): each is reset by an editor who has
   keys (``flask editor reset OTHER --by NAME``).
5. The schema is brought to the head (0003 drops the plaintext columns), and SQLite
   is vacuumed so that no free page keeps an old value.

Each submission and file is committed on its own: run again after a crash, it
carries on where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_migrate import upgrade
from sqlalchemy import inspect, select, text

from portal import database, storage
from portal.crypto import age
from portal.crypto.files import encrypt_file, shred
from portal.crypto.keyring import Content, Keyring, current_key
from portal.inbox import accounts, audit
from portal.models import Editor, InboxKey, db

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Encrypted:
    recovery_key: str  # "" when the inbox key already existed (a resumed run)
    submissions: int
    files: int
    editors_to_reset: list[str]


def needs_encrypting() -> bool:
    """Whether the database still has the plaintext columns of before encryption."""
    columns = {c["name"] for c in inspect(db.engine).get_columns("submission")}
    return "note" in columns


def _legacy_keyring(name: str, password: str) -> tuple[Keyring, str]:
    row = db.session.execute(
        text("SELECT id, password_hash, totp_secret FROM editor WHERE name = :n"), {"n": name}
    ).one_or_none()
    if row is None:
        raise accounts.AccountError(f"No editor is called {name!r}.")
    editor = db.session.get(Editor, row.id)
    assert editor is not None
    if accounts.inbox_exists():
        # A resumed run: NAME got keys the first time.
        return accounts.authorise_by_editor(name, password), ""
    try:
        PasswordHasher().verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise accounts.AccountError("That editor's name or password is wrong.") from None
    identity = age.Identity.generate()
    key = InboxKey(public_key=str(identity.recipient))
    db.session.add(key)
    db.session.flush()
    keyring = Keyring({key.id: identity})
    accounts.give_keys(editor, password, keyring, row.totp_secret)
    db.session.execute(
        text("UPDATE editor SET password_hash = '', totp_secret = '' WHERE id = :i"),
        {"i": row.id},
    )
    audit.record(audit.COMMAND_LINE, audit.INBOX_CREATED)
    db.session.commit()
    return keyring, str(identity)


def _seal_submissions(progress: Progress | None) -> int:
    key_id, recipient = current_key()
    rows = db.session.execute(
        text("SELECT id, note, links, contact FROM submission WHERE key_id IS NULL")
    ).all()
    for done, row in enumerate(rows, start=1):
        links = tuple(line for line in row.links.splitlines() if line.strip())
        sealed = Content(row.note, links, row.contact).seal(recipient)
        db.session.execute(
            text(
                "UPDATE submission SET sealed = :s, key_id = :k, link_count = :c, "
                "note = '', links = '', contact = '' WHERE id = :i"
            ),
            {"s": sealed, "k": key_id, "c": len(links), "i": row.id},
        )
        db.session.commit()
        if progress:
            progress(done, len(rows))
    return len(rows)


def _encrypt_files(data_dir: Path, progress: Progress | None) -> int:
    key_id, recipient = current_key()
    rows = db.session.execute(
        text("SELECT id, submission_id, stored_name FROM stored_file WHERE key_id IS NULL")
    ).all()
    for done, row in enumerate(rows, start=1):
        plain = storage.stored_file_path(data_dir, row.submission_id, row.stored_name)
        name = f"{row.stored_name.split('.', 1)[0]}.age"
        target = storage.stored_file_path(data_dir, row.submission_id, name)
        if plain.is_file():
            encrypt_file(plain, target, recipient)
        db.session.execute(
            text("UPDATE stored_file SET stored_name = :n, key_id = :k WHERE id = :i"),
            {"n": name, "k": key_id, "i": row.id},
        )
        db.session.commit()
        if plain != target:
            shred(plain)
        if progress:
            progress(done, len(rows))
    _shred_unnamed(data_dir)
    return len(rows)


def _shred_unnamed(data_dir: Path) -> None:
    """Files in submission folders that no row names: plaintext a crash left."""
    named: dict[str, set[str]] = {}
    for submission_id, stored_name in db.session.execute(
        text("SELECT submission_id, stored_name FROM stored_file")
    ):
        named.setdefault(submission_id, set()).add(stored_name)
    for folder_name in storage.submission_folders(data_dir):
        folder = storage.submissions_root(data_dir) / folder_name
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.is_file() and entry.name not in named.get(folder_name, set()):
                shred(entry)
        storage.fsync_dir(folder)


def _forget_other_editors(name: str) -> list[str]:
    others = db.session.scalars(
        select(Editor.name).where(Editor.name != name, Editor.private_key.is_(None))
    ).all()
    db.session.execute(
        text(
            "UPDATE editor SET password_hash = '', totp_secret = '' "
            "WHERE name != :n AND private_key IS NULL"
        ),
        {"n": name},
    )
    db.session.commit()
    return list(others)


def encrypt_installation(
    data_dir: Path, name: str, password: str, progress: Progress | None = None
) -> Encrypted:
    """Run the whole upgrade (inside an app context)."""
    if not needs_encrypting():
        raise accounts.AccountError("This installation is encrypted already.")
    upgrade(directory=str(database.MIGRATIONS), revision="0002")
    keyring, recovery_key = _legacy_keyring(name, password)
    del keyring  # everything is encrypted to the public key; nothing needs opening
    submissions = _seal_submissions(progress)
    files = _encrypt_files(data_dir, progress)
    to_reset = _forget_other_editors(name)
    audit.record(audit.COMMAND_LINE, audit.INBOX_ENCRYPTED)
    db.session.commit()
    upgrade(directory=str(database.MIGRATIONS))
    db.session.remove()
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            connection.execute(text("VACUUM"))
    return Encrypted(recovery_key, submissions, files, to_reset)
