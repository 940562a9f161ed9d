"""Helpers for the inbox tests: a clock tests can move, editors with a known password
and TOTP secret, signing in, CSRF tokens, and small real files to file as submissions.

The fixtures that use them are in conftest.py beside this module.
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pyotp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from portal import storage
from portal.inbox import credentials
from portal.models import Editor, StoredFile, Submission, db, new_id

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


def add_editor(app: Flask, name: str, clock: Clock, timezone: str = "") -> EditorAccount:
    secret = credentials.new_totp_secret()
    with app.app_context():
        db.session.add(
            Editor(
                name=name,
                password_hash=credentials.hash_password(PASSWORD),
                totp_secret=secret,
                timezone=timezone,
            )
        )
        db.session.commit()
    return EditorAccount(name, PASSWORD, secret, clock)


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
    under its folder first, then its rows."""
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    submission = Submission(
        id=new_id(),
        locale=locale,
        note=note,
        links=links,
        contact=contact,
        refused=refused or [],
        created_at=created_at or datetime.now(UTC),
        **flags,
    )
    folder = storage.submission_dir(data_dir, submission.id)
    folder.mkdir(mode=0o700)
    for position, spec in enumerate(files or []):
        file_id = new_id()
        stored_name = f"{file_id}.{spec.extension}"
        (folder / stored_name).write_bytes(spec.data)
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
                removed=spec.removed,
            )
        )
    filed = Filed(submission.id, [f.id for f in submission.files], folder)
    with app.app_context():
        db.session.add(submission)
        db.session.commit()
    return filed
