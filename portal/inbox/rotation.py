"""Replacing the inbox key pair and re-encrypting everything to the new one (``flask
inbox rotate``), for when an editor leaves on bad terms or a key may have leaked.

1. A new key pair is made; its public half becomes the newest ``InboxKey`` (tips filed
   from now on use it), and every editor's keyring gets the new identity beside the
   old ones, encrypted to each editor's own public key (no password needed). Every
   session ends, so no one keeps an old keyring.
2. Each submission, later message, reply and file still under an old key is
   decrypted and encrypted to the new one (a reply the tipster still has stays
   readable with their phrase too), file by file (the new age file replaces the old
   by rename; then its row records the new key id). Progress is reported as it goes.
3. The old keys are deleted: from every keyring and from ``inbox_key``. The old
   recovery key and any copy of an old keyring then open nothing still on disk (a
   backup taken before, of course, stays readable with them).

The portal may keep serving meanwhile. A tip being cleaned when step 1 commits was
sealed to the old key: if it is filed before step 3, step 3 finds it and step 2 runs
again; if after, its filing finds the key gone and fails, and the tipster is told to
send it again (:func:`portal.crypto.keyring.hold_key`). No tip is ever filed under a
deleted key.

A rotation cut short leaves every tip readable (keyrings hold old and new keys);
running it again makes yet another key and finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select

from portal import storage
from portal.crypto import age
from portal.crypto.files import reencrypt_file
from portal.crypto.keyring import Content, Keyring
from portal.followup import threads
from portal.inbox import accounts, audit, sessions
from portal.models import Editor, InboxKey, StoredFile, Submission, ThreadMessage, db

Progress = Callable[[int, int], None]


def _reseal_everyone(keyring: Keyring) -> None:
    for editor in db.session.scalars(select(Editor)):
        accounts.reseal_keyring(editor, keyring)


def rotate(data_dir: Path, keyring: Keyring, progress: Progress | None = None) -> str:
    """Re-encrypt everything to a new key pair; returns the new recovery key."""
    known = set(db.session.scalars(select(InboxKey.id)))
    if not known <= set(keyring.identities):
        raise accounts.AccountError(
            "This authorisation does not hold every inbox key; use the recovery key "
            "or the password of an editor who signed in since the last rotation."
        )
    identity = age.Identity.generate()
    key = InboxKey(public_key=str(identity.recipient))
    db.session.add(key)
    db.session.flush()
    both = keyring.with_key(key.id, identity)
    _reseal_everyone(both)
    sessions.end_everyone()
    db.session.commit()

    done = 0
    while True:
        done = _reencrypt_all(data_dir, both, key.id, identity.recipient, done, progress)
        # Step 3 begins with the DELETE and a last look in the same transaction. A tip
        # (or message) filed meanwhile under an old key, whose filing read the key
        # before step 1, either committed before: it is seen and this goes round
        # again; or commits after, finds its key gone and is refused
        # (portal.crypto.keyring.hold_key). None is left that no key opens.
        db.session.execute(delete(InboxKey).where(InboxKey.id != key.id))
        if not any(_under_old_keys(key.id)):
            break
        db.session.rollback()
    _reseal_everyone(both.only(key.id))
    sessions.end_everyone()
    audit.record(audit.COMMAND_LINE, audit.KEY_ROTATED)
    db.session.commit()
    return str(identity)


def _under_old_keys(
    key_id: int,
) -> tuple[list[Submission], list[ThreadMessage], list[StoredFile]]:
    """Everything encrypted to another inbox key than ``key_id``."""
    return (
        list(db.session.scalars(select(Submission).where(Submission.key_id != key_id))),
        list(db.session.scalars(select(ThreadMessage).where(ThreadMessage.key_id != key_id))),
        list(db.session.scalars(select(StoredFile).where(StoredFile.key_id != key_id))),
    )


def _reencrypt_all(
    data_dir: Path,
    keyring: Keyring,
    key_id: int,
    recipient: age.Recipient,
    done: int,
    progress: Progress | None,
) -> int:
    """Encrypt everything still under an old key to ``key_id``, committing after each
    row; returns ``done`` plus how many were."""
    submissions, messages, files = _under_old_keys(key_id)
    total = done + len(submissions) + len(messages) + len(files)
    if progress:
        progress(done, total)
    for submission in submissions:
        content = Content.open(submission.sealed, submission.key_id, keyring)
        submission.sealed = content.seal(recipient)
        submission.key_id = key_id
        submission.note_index = None  # made under the old key; the next search remakes it
        db.session.commit()
        done += 1
        if progress:
            progress(done, total)
    for message in messages:
        threads.reencrypt(message, keyring, key_id, recipient)
        db.session.commit()
        done += 1
        if progress:
            progress(done, total)
    for stored in files:
        # A file's thumbnail is encrypted to the file's key, and moves with it.
        for name in (stored.stored_name, stored.thumbnail_name):
            if not name:
                continue
            path = storage.stored_file_path(data_dir, stored.submission_id, name)
            if path.is_file():
                reencrypt_file(path, path, keyring, stored.key_id, recipient)
        stored.key_id = key_id
        db.session.commit()
        done += 1
        if progress:
            progress(done, total)
    return done
