"""Database tables: submissions and their cleaned files, editors, and the audit log.

Nothing here can hold a tipster's address, browser or file names: there is no column
for them. Times are stored in UTC.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def new_id() -> str:
    """An unguessable identifier for URLs and stored names."""
    return secrets.token_hex(16)


_ID = re.compile(r"[0-9a-f]{32}")


def is_id(value: str) -> bool:
    """Whether ``value`` has the shape :func:`new_id` gives (checked before a lookup)."""
    return _ID.fullmatch(value) is not None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Submission(db.Model):
    __tablename__ = "submission"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    #: the language the tipster used the form in
    locale: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    #: validated http(s) URLs, one per line, never fetched
    links: Mapped[str] = mapped_column(Text, default="")
    #: an optional way to reach the tipster, as they typed it
    contact: Mapped[str] = mapped_column(Text, default="")
    #: reason codes of files that were refused (no names, no content)
    refused: Mapped[list] = mapped_column(JSON, default=list)
    is_read: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_starred: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    files: Mapped[list[StoredFile]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="StoredFile.position",
    )

    @property
    def link_list(self) -> list[str]:
        return [line for line in self.links.splitlines() if line.strip()]


class StoredFile(db.Model):
    __tablename__ = "stored_file"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    #: generated name inside the submission's folder; never the client's name
    stored_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # a cleaning.Kind value: image, video, ...
    format: Mapped[str] = mapped_column(String(16))  # JPEG, MP4, PDF, ...
    mime: Mapped[str] = mapped_column(String(100))
    extension: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    #: Category values the cleaner removed
    removed: Mapped[list] = mapped_column(JSON, default=list)
    #: generated name of the image's thumbnail (a small JPEG beside the file, made when
    #: it was filed); "" when none can be made; NULL for rows filed before thumbnails
    #: were stored, whose thumbnail the inbox makes on first request
    thumbnail_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Alteration values: what of the content itself had to be changed (a stream
    #: re-encoded); NULL in rows filed before the column existed, read as none
    altered: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)

    submission: Mapped[Submission] = relationship(back_populates="files")


class Editor(db.Model):
    __tablename__ = "editor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str] = mapped_column(String(64))
    #: the last TOTP time step accepted, so a code cannot be used twice
    last_totp_step: Mapped[int] = mapped_column(Integer, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: bumped on reset and sign-out so older sessions stop working
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    #: the language the editor last chose in the inbox ("" until they choose)
    locale: Mapped[str] = mapped_column(String(16), default="")
    #: IANA time zone for dates shown to this editor ("" means the portal's default)
    timezone: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(db.Model):
    """What an editor did. Holds editor names and submission ids, never tipster data."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    editor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64), default="")
