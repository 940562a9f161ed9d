"""Database tables: submissions (each the start of a conversation), their later
messages and replies, their cleaned files, editors, editors' and tipsters' sessions,
the inbox's public keys, the phrase key derivation's salt, the notification
clock, and the audit log.

Nothing here can hold a tipster's address, browser or file names: there is no column
for them. What a tipster wrote (note, links, contact) is only ever stored as an age
file encrypted to the inbox key (``Submission.sealed``); the files are age files on
disk. What stays in clear is what the inbox needs without a key: ids, dates, sizes,
kinds and formats, flags, reason codes, how many links. No column holds a private key
or a TOTP secret in clear (see docs/encryption.md). No column holds a follow-up
phrase: only what a slow key derivation makes of it (``Submission.lookup``, the public
key ``Submission.tipster_key``), from which the phrase cannot be worked back. Times
are stored in UTC and always read back as aware UTC datetimes, whatever the database
(:class:`UtcDateTime`).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, stored with its zone, read back as an aware datetime in UTC.

    SQLite returns stored times without a zone; PostgreSQL returns them in the
    session's time zone (the server's ``TimeZone`` unless the client sets one), so
    formatting one as UTC without converting it shows another zone's clock. A naive
    datetime is refused on the way in: it would be read in the database's zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a time without a zone cannot be stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    # Flask-SQLAlchemy builds db.Model at run time, out of mypy's sight; it is a
    # subclass of Base, which is all the type checker needs to know.
    Model = Base
else:
    Model = db.Model


def new_id() -> str:
    """An unguessable identifier for URLs and stored names."""
    return secrets.token_hex(16)


_ID = re.compile(r"[0-9a-f]{32}")


def is_id(value: str) -> bool:
    """Whether ``value`` has the shape :func:`new_id` gives (checked before a lookup)."""
    return _ID.fullmatch(value) is not None


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_created(context: DefaultExecutionContext) -> datetime:
    """A new submission's last activity is its arrival."""
    created = context.get_current_parameters().get("created_at")
    return created if isinstance(created, datetime) else utcnow()


class Submission(Model):
    __tablename__ = "submission"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    #: the language the tipster used the form in
    locale: Mapped[str] = mapped_column(String(16))
    #: the note, links and contact as an age file (JSON inside), see portal.sealed
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: the InboxKey ``sealed`` and the files are encrypted to
    key_id: Mapped[int] = mapped_column(Integer, index=True)
    #: how many links the tipster gave (for the "has links" filter)
    link_count: Mapped[int] = mapped_column(Integer, default=0)
    #: the note again, sealed under a key derived from the inbox identity (never
    #: from anything the public side holds), so that a search need not open an age
    #: file per note; written by the first search that opens ``sealed``
    note_index: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: reason codes of files that were refused (no names, no content)
    refused: Mapped[list] = mapped_column(JSON, default=list)
    is_read: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_starred: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: the arrival of the tip or of the tipster's latest message (the list's order)
    last_activity_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), default=_as_created, index=True
    )
    #: what finds this thread from its follow-up phrase (portal.crypto.phrase): None
    #: when the tipster has no phrase (declined it, or the tip came before phrases)
    lookup: Mapped[bytes | None] = mapped_column(
        LargeBinary, nullable=True, unique=True, index=True
    )
    #: the age public key derived from the phrase: replies are encrypted to it (and
    #: to the inbox key); None when the tipster has no phrase
    tipster_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: editors ended the conversation: the tipster reads replies but sends no more
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)

    files: Mapped[list[StoredFile]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="StoredFile.position",
    )
    messages: Mapped[list[ThreadMessage]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="ThreadMessage.created_at",
    )

    @property
    def first_files(self) -> list[StoredFile]:
        """The files sent with the tip itself (later ones belong to a message)."""
        return [f for f in self.files if f.message_id is None]


class ThreadMessage(Model):
    """Something added to a submission's thread: a later message from the tipster
    (note, links and files, encrypted to the inbox key like a tip) or an editors'
    reply (encrypted to the tipster's key and the inbox key)."""

    __tablename__ = "thread_message"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: TIPSTER or EDITORS
    author: Mapped[str] = mapped_column(String(8))
    #: the editor who wrote a reply ("" for the tipster's messages)
    editor: Mapped[str] = mapped_column(String(64), default="")
    #: an age file: JSON of the note and links (tipster) or the reply's text (editors)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: the InboxKey ``sealed`` is encrypted to
    key_id: Mapped[int] = mapped_column(Integer, index=True)
    link_count: Mapped[int] = mapped_column(Integer, default=0)
    #: reason codes of files of this message that were refused
    refused: Mapped[list] = mapped_column(JSON, default=list)
    #: a tipster's message has been opened by an editor
    read_by_editors: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: a reply has been shown to the tipster
    read_by_tipster: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the tipster deleted this reply from their page: it is now encrypted to the
    #: inbox key only
    deleted_by_tipster: Mapped[bool] = mapped_column(Boolean, default=False)

    submission: Mapped[Submission] = relationship(back_populates="messages")
    files: Mapped[list[StoredFile]] = relationship(
        back_populates="message", order_by="StoredFile.position", viewonly=True
    )

    TIPSTER: ClassVar[str] = "tipster"
    EDITORS: ClassVar[str] = "editors"


class StoredFile(Model):
    __tablename__ = "stored_file"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    #: generated name inside the submission's folder (an age file); never the client's
    stored_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # a cleaning.Kind value: image, video, ...
    format: Mapped[str] = mapped_column(String(16))  # JPEG, MP4, PDF, ...
    mime: Mapped[str] = mapped_column(String(100))
    extension: Mapped[str] = mapped_column(String(10))
    #: the cleaned file's size (the age file on disk is slightly larger)
    size: Mapped[int] = mapped_column(Integer)
    #: the InboxKey the file is encrypted to
    key_id: Mapped[int] = mapped_column(Integer, index=True)
    #: Category values the cleaner removed
    removed: Mapped[list] = mapped_column(JSON, default=list)
    #: generated name of the image's thumbnail (a small JPEG beside the file, made when
    #: it was filed); "" when none can be made; NULL for rows filed before thumbnails
    #: were stored, whose thumbnail the inbox makes on first request
    thumbnail_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Alteration values: what of the content itself had to be changed (a stream
    #: re-encoded); NULL in rows filed before the column existed, read as none
    altered: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)
    #: the tipster's later message this file came with (None: sent with the tip)
    message_id: Mapped[str | None] = mapped_column(
        ForeignKey("thread_message.id", ondelete="CASCADE"), nullable=True, index=True
    )

    submission: Mapped[Submission] = relationship(back_populates="files")
    message: Mapped[ThreadMessage | None] = relationship(back_populates="files")


class Editor(Model):
    __tablename__ = "editor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: the editor's own age public key; None for an account an upgrade could not
    #: give keys to (it must be reset before it can sign in)
    public_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: the editor's age identity, wrapped under their password (crypto.wrapping)
    private_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the inbox identities, as an age identity file encrypted to ``public_key``
    keyring: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: the TOTP secret, encrypted to ``public_key``
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: the last TOTP time step accepted, so a code cannot be used twice
    last_totp_step: Mapped[int] = mapped_column(Integer, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: the language the editor last chose in the inbox ("" until they choose)
    locale: Mapped[str] = mapped_column(String(16), default="")
    #: IANA time zone for dates shown to this editor ("" means the portal's default)
    timezone: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class EditorSession(Model):
    """A signed-in editor's session. ``sealed`` holds the inbox identities encrypted
    under a random key that only the editor's cookie carries; deleting the row (sign
    out, idle expiry, reset, removal) leaves nothing the cookie could open."""

    __tablename__ = "editor_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editor.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class TipsterSession(Model):
    """A tipster's open conversation. ``sealed`` holds the thread's id and the key
    derived from the phrase, encrypted under a random key that only the tipster's
    cookie carries; the row is deleted when they leave or after a short idle time."""

    __tablename__ = "tipster_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class PhraseKdf(Model):
    """The installation's salt and cost for deriving keys from follow-up phrases (one
    row). The salt is not secret; it makes a table of guesses made for one portal
    useless for another."""

    __tablename__ = "phrase_kdf"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    time_cost: Mapped[int] = mapped_column(Integer)
    memory_cost: Mapped[int] = mapped_column(Integer)
    parallelism: Mapped[int] = mapped_column(Integer)


class Notification(Model):
    """The notification clock shared by every worker and host (one row): whether
    activity is waiting to be announced, and when the last email went."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class InboxKey(Model):
    """A public key tips are encrypted to. The newest row is the one filing uses; an
    older one stays only while a rotation re-encrypts what was filed under it. The
    private halves are never here: only in editors' keyrings and the recovery key."""

    __tablename__ = "inbox_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEvent(Model):
    """What an editor did. Holds editor names and submission ids, never tipster data."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    editor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64), default="")
