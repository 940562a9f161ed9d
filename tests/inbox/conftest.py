"""Fixtures for the editors' inbox: an app on a temporary data folder, a clock tests
can move, an editor with a known password and TOTP secret, a signed-in client, and a
helper that files submissions with real small files on disk."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from portal import create_app, storage
from portal.config import Settings
from portal.crypto import age
from portal.crypto.keyring import Content, current_key
from portal.inbox import accounts, credentials
from portal.models import StoredFile, Submission, db, new_id
from tests.inbox_keys import cheap_phrases, ensure_inbox, remember

PASSWORD = "correct horse battery staple"
#: a cheap Argon2 so that the many sign-ins of the suite stay fast; one test checks
#: that the app's own default is the memory-hard one
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 18, 0, 7, tzinfo=UTC))

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    monkeypatch.setattr(credentials, "now", lambda: moving.now)
    return moving


def build_app(data_dir: Path, **overrides: object) -> Flask:
    # An in-memory database: SQLite on disk fsyncs every statement, which makes each
    # app cost a third of a second. Files still go to data_dir.
    overrides.setdefault("database_url", "sqlite://")
    app = create_app(Settings(data_dir=data_dir, **overrides))  # type: ignore[arg-type]
    app.config.update(TESTING=True)
    app.extensions["portal_passwords"] = credentials.PasswordPolicy(FAST_HASHER)
    return cheap_phrases(app)


@pytest.fixture
def inbox_app(tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    # No app context is held here: each request must get its own, as in production
    # (a shared one would share Flask-Login's user and the database session).
    app = build_app(tmp_path / "data")
    yield app
    close_app(app)


def close_app(app: Flask) -> None:
    """Release the app's storage lock on the data folder (see tests/conftest.py)."""
    lock = app.extensions.get("portal_storage_lock")
    if lock is not None:
        lock.close()


def english_client(app: Flask) -> FlaskClient:
    """A client whose browser asks for English (tests read English messages)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def web(inbox_app: Flask) -> FlaskClient:
    return english_client(inbox_app)


@dataclass
class EditorAccount:
    name: str
    password: str
    secret: str
    clock: Clock

    def code(self, offset_steps: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.now + timedelta(seconds=30 * offset_steps))


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


@pytest.fixture
def editor(inbox_app: Flask, clock: Clock) -> EditorAccount:
    return add_editor(inbox_app, "ana", clock)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: FlaskClient, account: EditorAccount, **fields: str):
    page = client.get("/inbox/login")
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "name": account.name,
        "password": account.password,
        "code": account.code(),
    }
    data.update(fields)
    return client.post("/inbox/login", data=data)


@pytest.fixture
def signed_in(web: FlaskClient, editor: EditorAccount, clock: Clock) -> FlaskClient:
    response = sign_in(web, editor)
    assert response.status_code == 302, response.get_data(as_text=True)
    return web


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


@pytest.fixture(scope="session")
def mp4_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed; it generates the test video")
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1",
            "-pix_fmt", "yuv420p", "-map_metadata", "-1", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


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
    #: each file's plaintext, by file id (the folder holds them encrypted)
    plain: dict[str, bytes] = field(default_factory=dict)


MakeSubmission = Callable[..., Filed]


@pytest.fixture
def make_submission(inbox_app: Flask) -> MakeSubmission:
    """File a submission as the public side would: files encrypted to the inbox key
    under its folder, then rows."""
    data_dir = inbox_app.config["PORTAL_SETTINGS"].data_dir

    def make(
        note: str = "",
        links: str = "",
        contact: str = "",
        locale: str = "es",
        files: list[FileSpec] | None = None,
        created_at: datetime | None = None,
        refused: list[str] | None = None,
        **flags: bool,
    ) -> Filed:
        with inbox_app.app_context():
            ensure_inbox(inbox_app)
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
                )
            )
        filed = Filed(
            submission.id,
            [f.id for f in submission.files],
            folder,
            {f.id: spec.data for f, spec in zip(submission.files, files or [], strict=True)},
        )
        with inbox_app.app_context():
            db.session.add(submission)
            db.session.commit()
        return filed

    return make
