"""Editors' sessions, server-side, holding the unwrapped inbox key without keeping it.

Signing in opens the editor's keyring (the inbox identities). :func:`start` seals it
under a fresh random 32-byte key and stores only the sealed copy, in an
``editor_session`` row shared by every worker and host using the database. The key
goes into the editor's cookie and nowhere else; each request unseals the keyring in
memory with it (:func:`resume`). So:

* the disk (database, data folder, ``secret_key``) alone never opens a keyring;
* a cookie forged with ``secret_key`` and the database has no key that opens a row:
  it is not a session, and no tip content can be shown through it;
* signing out, idle expiry, a reset or removal delete the rows, after which an old
  cookie opens nothing. :func:`sweep_expired` deletes rows idle past the limit at
  every inbox request, so a row does not outlive its session on disk for long even
  when nobody comes back to it. (Deleted bytes: SQLite runs with ``secure_delete``,
  see :mod:`portal.database`; PostgreSQL keeps a dead row until VACUUM.)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from portal.crypto import wrapping
from portal.crypto.keyring import Keyring
from portal.inbox.credentials import as_utc
from portal.models import Editor, EditorSession, db, is_id

#: last_seen is written at most this often (every request would be a write)
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Ticket:
    """What the cookie carries: the row's id and the key that opens it."""

    session_id: str
    key: str  # urlsafe base64 of 32 bytes


class Expired(Exception):
    """The session was idle for too long; its row has been deleted."""

    def __init__(self, editor_name: str) -> None:
        super().__init__(editor_name)
        self.editor_name = editor_name


@dataclass(frozen=True)
class Resumed:
    editor: Editor
    keyring: Keyring
    row: EditorSession


def _context(session_id: str) -> bytes:
    return b"portal editor session " + session_id.encode("ascii")


def start(editor: Editor, keyring: Keyring, moment: datetime) -> Ticket:
    """A new session for ``editor``; the caller commits."""
    key = wrapping.new_key()
    row = EditorSession(editor_id=editor.id, sealed=b"", created_at=moment, last_seen=moment)
    db.session.add(row)
    db.session.flush()  # the id (generated) is bound into the seal
    row.sealed = wrapping.seal(keyring.to_text().encode("ascii"), key, _context(row.id))
    return Ticket(row.id, base64.urlsafe_b64encode(key).decode("ascii"))


def resume(
    session_id: object, key_text: object, moment: datetime, idle: timedelta
) -> Resumed | None:
    """The session that ``session_id`` and the cookie's key open, if it is live; None
    otherwise. Raises :class:`Expired` (after deleting the row; the caller commits)
    for a genuine session idle for longer than ``idle``."""
    if not (isinstance(session_id, str) and is_id(session_id) and isinstance(key_text, str)):
        return None
    row = db.session.get(EditorSession, session_id)
    if row is None:
        return None
    try:
        key = base64.urlsafe_b64decode(key_text.encode("ascii"))
        text = wrapping.unseal(row.sealed, key, _context(row.id)).decode("ascii")
    except (ValueError, UnicodeError, wrapping.WrongSecret):
        return None
    editor = db.session.get(Editor, row.editor_id)
    if editor is None:
        return None
    if as_utc(row.last_seen) + idle < moment:
        db.session.delete(row)
        raise Expired(editor.name)
    if moment - as_utc(row.last_seen) >= TOUCH_EVERY:
        row.last_seen = moment
    return Resumed(editor, Keyring.from_text(text), row)


def end(session_id: str) -> None:
    db.session.execute(delete(EditorSession).where(EditorSession.id == session_id))


def end_all(editor_id: int) -> None:
    """End every session of one editor (sign-out, reset, removal)."""
    db.session.execute(delete(EditorSession).where(EditorSession.editor_id == editor_id))


def end_everyone() -> None:
    """End every session (a key rotation)."""
    db.session.execute(delete(EditorSession))


def sweep_expired(moment: datetime, idle: timedelta) -> None:
    db.session.execute(delete(EditorSession).where(EditorSession.last_seen < moment - idle))
