"""A submission's thread: finding it from a follow-up phrase, editors' replies,
tipsters deleting replies they have read, closing, and forgetting a phrase.

A tipster's later messages are filed by :func:`portal.public.filing.file_message`,
like a tip. A reply is one age file of JSON (``{"text": ...}``) encrypted to two
recipients, the tipster's key (derived from the phrase) and the inbox key, so either
opens it and a copy of the disk opens neither. When the tipster deletes a reply from
their page, it is encrypted again to the inbox key alone: the editors keep it, and
the phrase no longer opens it.

The public side calls :func:`find`, :func:`replies_for_tipster` and
:func:`delete_for_tipster` with keys a tipster's phrase gave; nothing here reads an
inbox identity on that side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.crypto import age
from portal.crypto.keyring import Keyring, seal_to_current_key
from portal.models import Submission, ThreadMessage, db, utcnow

#: the longest reply an editor can write, in characters
MAX_REPLY_LENGTH = 20_000


class NoPhrase(Exception):
    """The thread has no follow-up phrase: nobody could read a reply."""


@dataclass(frozen=True)
class Reply:
    """A reply as the tipster sees it."""

    id: str
    text: str
    created_at: datetime
    #: not shown to the tipster before this page
    new: bool


def _seal_reply(text: str, recipients: list[age.Recipient]) -> bytes:
    return age.encrypt(json.dumps({"text": text}, ensure_ascii=False).encode("utf-8"), recipients)


def _text(plain: bytes) -> str:
    text = json.loads(plain.decode("utf-8"))["text"]
    assert isinstance(text, str)
    return text


def find(lookup: bytes) -> Submission | None:
    """The thread a phrase's lookup value finds, if any."""
    return db.session.scalar(select(Submission).where(Submission.lookup == lookup))


def add_reply(submission: Submission, editor: str, text: str) -> ThreadMessage:
    """An editors' reply, encrypted to the tipster and to the current inbox key (the
    caller commits)."""
    if not submission.tipster_key:
        raise NoPhrase()
    tipster = age.Recipient.parse(submission.tipster_key)
    message = ThreadMessage(author=ThreadMessage.EDITORS, editor=editor, created_at=utcnow())
    submission.messages.append(message)

    def seal(key_id: int, inbox: age.Recipient) -> None:
        message.sealed = _seal_reply(text, [tipster, inbox])
        message.key_id = key_id

    seal_to_current_key(seal)
    return message


def reply_text(message: ThreadMessage, keyring: Keyring) -> str:
    """A reply's text, for an editor."""
    return _text(keyring.decrypt(message.sealed, message.key_id))


def _live_replies(submission: Submission) -> list[ThreadMessage]:
    return [
        m
        for m in submission.messages
        if m.author == ThreadMessage.EDITORS and not m.deleted_by_tipster
    ]


def replies_for_tipster(submission: Submission, identity: age.Identity) -> list[Reply]:
    """The replies the tipster has not deleted, newest first, opened with their key.
    Each is marked as read by the tipster (the caller commits)."""
    replies = []
    for message in sorted(_live_replies(submission), key=lambda m: m.created_at, reverse=True):
        text = _text(age.decrypt(message.sealed, [identity]))
        replies.append(Reply(message.id, text, message.created_at, not message.read_by_tipster))
        message.read_by_tipster = True
    return replies


def delete_for_tipster(submission: Submission, identity: age.Identity, message_id: str) -> bool:
    """Delete a reply the tipster has read from their page: it is encrypted again to
    the inbox key only. Returns False when there is no such reply to delete (the
    caller commits)."""
    message = next((m for m in _live_replies(submission) if m.id == message_id), None)
    if message is None or not message.read_by_tipster:
        return False
    text = _text(age.decrypt(message.sealed, [identity]))

    def seal(key_id: int, inbox: age.Recipient) -> None:
        message.sealed = _seal_reply(text, [inbox])
        message.key_id = key_id

    message.deleted_by_tipster = True
    seal_to_current_key(seal)
    return True


def forget_phrase(submission: Submission) -> None:
    """The tipster declined their phrase: nothing finds this thread from it any more
    and no reply can be sent (the caller commits)."""
    submission.lookup = None
    submission.tipster_key = None


def unread_from_tipster(submission: Submission) -> list[ThreadMessage]:
    return [
        m
        for m in submission.messages
        if m.author == ThreadMessage.TIPSTER and not m.read_by_editors
    ]


def reencrypt(message: ThreadMessage, keyring: Keyring, key_id: int, inbox: age.Recipient) -> None:
    """``message`` encrypted to a new inbox key (a rotation); a reply the tipster
    still has stays readable with their phrase (the caller commits)."""
    plain = keyring.decrypt(message.sealed, message.key_id)
    recipients = [inbox]
    tipster_key = message.submission.tipster_key
    if message.author == ThreadMessage.EDITORS and not message.deleted_by_tipster and tipster_key:
        recipients.insert(0, age.Recipient.parse(tipster_key))
    message.sealed = age.encrypt(plain, recipients)
    message.key_id = key_id
