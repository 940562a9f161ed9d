"""The inbox keys as the app uses them.

* :func:`current_key` is all the public side ever reads: the newest ``InboxKey``'s id
  and public key. Nothing it can reach decrypts anything.
* :func:`hold_key` is called before committing rows encrypted to a key, which a
  rotation (:mod:`portal.inbox.rotation`) may have deleted meanwhile;
  :func:`seal_to_current_key` seals again to the new key when it has.
* :class:`Keyring` is what a signed-in editor (or a command given a password or the
  recovery key) holds for the length of one request: the inbox identities by key id.
  Its text form is an age identity file, with a ``# inbox key N`` comment before each
  identity, so the same text can be handed to ``age -d -i``.
* :class:`Content` is what a tipster typed (note, links, contact), sealed as one age
  file of JSON per submission.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select

from portal.crypto import age, wrapping
from portal.models import InboxKey, db

_KEY_COMMENT = re.compile(r"^# inbox key (\d+)$")


class NoInboxKey(Exception):
    """No editor has been added yet, so there is no key to encrypt tips to."""


def current_key() -> tuple[int, age.Recipient]:
    """The id and public key that new tips are encrypted to."""
    row = db.session.scalar(select(InboxKey).order_by(InboxKey.id.desc()).limit(1))
    if row is None:
        raise NoInboxKey()
    return row.id, age.Recipient.parse(row.public_key)


class KeyRetired(Exception):
    """A rotation deleted the inbox key some rows were encrypted to before they were
    committed: no key would ever open them, so they must not be filed."""


def hold_key(key_id: int) -> None:
    """Call just before committing rows encrypted to inbox key ``key_id``: flushes
    them, checks that the key still exists, and keeps it until the commit. A
    rotation deletes old keys in one transaction with a last look for rows still
    under them, so either it sees these rows (and encrypts them again), or it
    deleted the key first and this raises :class:`KeyRetired`. The key's row is
    locked FOR SHARE on PostgreSQL, which the rotation's DELETE waits for; on SQLite
    the flush took the database's one write lock, which the DELETE waits for."""
    db.session.flush()
    found = db.session.scalar(
        select(InboxKey.id).where(InboxKey.id == key_id).with_for_update(read=True)
    )
    if found is None:
        raise KeyRetired()


def seal_to_current_key(seal: Callable[[int, age.Recipient], None]) -> None:
    """``seal(key_id, recipient)`` with the current inbox key, held until the commit
    (:func:`hold_key`); sealed again to the new key if a rotation retired that one
    in between. For what the server can seal again: editors' replies."""
    while True:
        with db.session.no_autoflush:  # nothing unsealed may reach the database
            key_id, recipient = current_key()
        seal(key_id, recipient)
        try:
            hold_key(key_id)
        except KeyRetired:
            continue
        return


@dataclass(frozen=True)
class Keyring:
    identities: Mapping[int, age.Identity]

    def to_text(self) -> str:
        return "".join(
            f"# inbox key {key_id}\n{identity}\n"
            for key_id, identity in sorted(self.identities.items())
        )

    @classmethod
    def from_text(cls, text: str) -> Keyring:
        identities: dict[int, age.Identity] = {}
        key_id: int | None = None
        for line in text.splitlines():
            line = line.strip()
            if match := _KEY_COMMENT.match(line):
                key_id = int(match.group(1))
            elif line and not line.startswith("#"):
                if key_id is None:
                    raise age.AgeError("an identity without its key id")
                identities[key_id] = age.Identity.parse(line)
                key_id = None
        return cls(identities)

    def _order(self, key_id: int) -> list[age.Identity]:
        # The recorded key first; the others too, for a file a crashed rotation
        # re-encrypted without recording it.
        first = self.identities.get(key_id)
        rest = [i for k, i in sorted(self.identities.items()) if k != key_id]
        return ([first] if first is not None else []) + rest

    def decrypt(self, blob: bytes, key_id: int) -> bytes:
        return age.decrypt(blob, self._order(key_id))

    def reader(self, source: BinaryIO, key_id: int) -> age.Reader:
        return age.Reader(source, self._order(key_id))

    def note_index_key(self, key_id: int) -> bytes | None:
        """The symmetric key that seals notes for search, derived from inbox key
        ``key_id``'s identity (so only its holders can make or open an index)."""
        identity = self.identities.get(key_id)
        if identity is None:
            return None
        return age.derive_key(identity, b"portal note index v1")

    def with_key(self, key_id: int, identity: age.Identity) -> Keyring:
        return Keyring({**self.identities, key_id: identity})

    def only(self, key_id: int) -> Keyring:
        return Keyring({key_id: self.identities[key_id]})


class NoteIndex:
    """Notes sealed for search under a key from :meth:`Keyring.note_index_key`
    (ChaCha20-Poly1305, bound to the submission's id)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, note: str, submission_id: str) -> bytes:
        return wrapping.seal(note.encode("utf-8"), self._key, submission_id.encode("ascii"))

    def open(self, sealed: bytes, submission_id: str) -> str | None:
        try:
            return wrapping.unseal(sealed, self._key, submission_id.encode("ascii")).decode()
        except (wrapping.WrongSecret, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Content:
    """What a tipster typed into the form."""

    note: str = ""
    links: tuple[str, ...] = ()
    contact: str = ""

    def seal(self, recipient: age.Recipient) -> bytes:
        text = json.dumps(
            {"note": self.note, "links": list(self.links), "contact": self.contact},
            ensure_ascii=False,
        )
        return age.encrypt(text.encode("utf-8"), [recipient])

    @classmethod
    def open(cls, sealed: bytes, key_id: int, keyring: Keyring) -> Content:
        fields = json.loads(keyring.decrypt(sealed, key_id).decode("utf-8"))
        return cls(fields["note"], tuple(fields["links"]), fields["contact"])
