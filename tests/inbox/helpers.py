"""Helpers for the inbox tests: a clock tests can move, editors with a known password
and TOTP secret, signing in, CSRF tokens, and small real files to file as submissions.

The fixtures that use them are in conftest.py beside this module.
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pyotp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from portal import storage
from portal.crypto import age
from portal.crypto.keyring import Content, current_key
from portal.inbox import accounts
from portal.models import StoredFile, Submission, db, new_id
from tests.inbox_keys import ensure_inbox, remember

PASSWORD = "correct horse battery staple"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 18, 0, 7, tzinfo=UTC))

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def english_client(app: Flask) -> FlaskClient:
    """A client whose browser asks for English (tests read English messages)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@dataclass
class EditorAccount:
    name: str
    password: str
    secret: str
    clock: Clock

    def code(self, offset_steps: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.now + timedelta(seconds=30 * offset_steps))

    def move_to_distinct_codes(self, offsets: Iterable[int]) -> None:
        """Moves the clock on by whole steps until the codes ``offsets`` steps away
        all differ. The secret is random, so two steps share a code about once in a
        million: a test that tells steps apart by their codes would fail by chance."""
        steps = list(offsets)
        while len({self.code(step) for step in steps}) < len(steps):
            self.clock.advance(seconds=30)


def add_editor(app: Flask, name: str, clock: Clock, timezone: str = "") -> EditorAccount:
    """An editor with the suite's password, through portal.inbox.accounts as the CLI
    does: the first one creates the inbox key."""
    with app.app_context():
        if accounts.inbox_exists():
            new = accounts.add_editor(name, PASSWORD, ensure_inbox(app), timezone)
        else:
            new, recovery = accounts.create_inbox(name, PASSWORD, timezone)
            remember(recovery)
    return EditorAccount(name, PASSWORD, new.totp_secret, clock)


def secret_from(output: str) -> str:
    match = re.search(r"TOTP secret: ([A-Z2-7]+)", output)
    assert match, output
    return match.group(1)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(
    client: FlaskClient, account: EditorAccount, base_url: str = "http://localhost", **fields: str
):
    """Post the sign-in form as ``account`` (``fields`` replace what it sends)."""
    page = client.get("/inbox/login", base_url=base_url)
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "name": account.name,
        "password": account.password,
        "code": account.code(),
    }
    data.update(fields)
    return client.post("/inbox/login", data=data, base_url=base_url)


def token(client: FlaskClient, path: str = "/inbox/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


# --- small real files -------------------------------------------------------------


def jpeg_bytes(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(out, "JPEG")
    return out.getvalue()


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def pdf_bytes() -> bytes:
    out = io.BytesIO()
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(out)
    return out.getvalue()


@dataclass
class FileSpec:
    data: bytes
    kind: str
    format: str
    mime: str
    extension: str
    removed: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    #: None: filed before thumbnails were stored (the inbox makes one on request)
    thumbnail_name: str | None = None


def jpeg_file(**changes: object) -> FileSpec:
    spec = FileSpec(jpeg_bytes(), "image", "JPEG", "image/jpeg", "jpg", ["gps", "make_model"])
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


def wav_file() -> FileSpec:
    return FileSpec(wav_bytes(), "audio", "WAV", "audio/wav", "wav", ["tags"])


def pdf_file() -> FileSpec:
    return FileSpec(pdf_bytes(), "document", "PDF", "application/pdf", "pdf", ["author"])


@dataclass
class Filed:
    id: str
    file_ids: list[str]
    folder: Path
    #: each file's plaintext, by file id (the folder holds them encrypted)
    plain: dict[str, bytes] = field(default_factory=dict)


MakeSubmission = Callable[..., Filed]


def file_submission(
    app: Flask,
    note: str = "",
    links: str = "",
    contact: str = "",
    locale: str = "es",
    files: list[FileSpec] | None = None,
    created_at: datetime | None = None,
    refused: list[str] | None = None,
    **flags: bool,
) -> Filed:
    """File a submission in ``app``'s data folder as the public side would: its files
    encrypted to the inbox key under its folder first, then its rows."""
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with app.app_context():
        ensure_inbox(app)
        key_id, recipient = current_key()
    link_list = tuple(line for line in links.splitlines() if line.strip())
    submission = Submission(
        id=new_id(),
        locale=locale,
        sealed=Content(note, link_list, contact).seal(recipient),
        key_id=key_id,
        link_count=len(link_list),
        refused=refused or [],
        created_at=created_at or datetime.now(UTC),
        **flags,
    )
    folder = storage.submission_dir(data_dir, submission.id)
    folder.mkdir(mode=0o700)
    for position, spec in enumerate(files or []):
        file_id = new_id()
        stored_name = f"{file_id}.age"
        (folder / stored_name).write_bytes(age.encrypt(spec.data, [recipient]))
        submission.files.append(
            StoredFile(
                id=file_id,
                position=position,
                stored_name=stored_name,
                kind=spec.kind,
                format=spec.format,
                mime=spec.mime,
                extension=spec.extension,
                size=len(spec.data),
                key_id=key_id,
                removed=spec.removed,
                altered=spec.altered,
                thumbnail_name=spec.thumbnail_name,
            )
        )
    filed = Filed(
        submission.id,
        [f.id for f in submission.files],
        folder,
        {f.id: spec.data for f, spec in zip(submission.files, files or [], strict=True)},
    )
    with app.app_context():
        db.session.add(submission)
        db.session.commit()
    return filed
