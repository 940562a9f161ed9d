"""A tipster's open conversation, kept between requests without keeping the phrase.

Typing the phrase costs one slow key derivation; asking for it again at every click
would make each click as slow and put the phrase in every form. Instead, once the
phrase has opened a thread, :func:`start` seals the thread's id and the tipster's key
(derived from the phrase, never the phrase itself) under a fresh random 32-byte key,
stores only the sealed copy in a ``tipster_session`` row, and hands the key to the
browser in the signed session cookie. So:

* the cookie alone (signed, not encrypted: anyone holding it can read it) holds only
  a random key and a row id; the row alone holds only ciphertext; the server's
  ``secret_key`` opens neither;
* leaving the conversation deletes the row; so does :func:`sweep_expired` once it has
  been idle for ``PORTAL_FOLLOWUP_IDLE_TIMEOUT``, at the first public request after
  that. The cookie is a browser-session cookie, gone when the browser closes; after
  the timeout, even a cookie kept opens nothing. (SQLite overwrites deleted rows:
  ``secure_delete``.)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from portal.crypto import age, wrapping
from portal.models import TipsterSession, db, is_id

#: last_seen is written at most this often
TOUCH_EVERY = timedelta(seconds=30)


def now() -> datetime:
    """The time (a function, so that tests can move it)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Ticket:
    """What the cookie carries."""

    session_id: str
    key: str  # urlsafe base64 of 32 bytes


@dataclass(frozen=True)
class Opened:
    """A live conversation: the thread's id and the tipster's key, for one request."""

    session_id: str
    submission_id: str
    identity: age.Identity


def _context(session_id: str) -> bytes:
    return b"portal tipster session " + session_id.encode("ascii")


def start(submission_id: str, identity: age.Identity) -> Ticket:
    """A new conversation session; the caller commits."""
    key = wrapping.new_key()
    moment = now()
    row = TipsterSession(sealed=b"", last_seen=moment)
    db.session.add(row)
    db.session.flush()
    inside = json.dumps({"thread": submission_id, "identity": str(identity)}).encode("ascii")
    row.sealed = wrapping.seal(inside, key, _context(row.id))
    return Ticket(row.id, base64.urlsafe_b64encode(key).decode("ascii"))


def resume(session_id: object, key_text: object, idle: timedelta) -> Opened | None:
    """The conversation the cookie's id and key open, if it is live (the caller
    commits the touched ``last_seen``)."""
    if not (isinstance(session_id, str) and is_id(session_id) and isinstance(key_text, str)):
        return None
    row = db.session.get(TipsterSession, session_id)
    if row is None:
        return None
    moment = now()
    if as_utc(row.last_seen) + idle < moment:
        db.session.delete(row)
        return None
    try:
        key = base64.urlsafe_b64decode(key_text.encode("ascii"))
        inside = json.loads(wrapping.unseal(row.sealed, key, _context(row.id)))
        opened = Opened(row.id, inside["thread"], age.Identity.parse(inside["identity"]))
    except (ValueError, KeyError, UnicodeError, wrapping.WrongSecret, age.AgeError):
        return None
    if moment - as_utc(row.last_seen) >= TOUCH_EVERY:
        row.last_seen = moment
    return opened


def end(session_id: str) -> None:
    db.session.execute(delete(TipsterSession).where(TipsterSession.id == session_id))


def sweep_expired(idle: timedelta) -> None:
    db.session.execute(delete(TipsterSession).where(TipsterSession.last_seen < now() - idle))
