"""Fixtures for the editors' inbox: an app on a temporary data folder, a clock tests
can move, an editor with a known password and TOTP secret, a signed-in client, and a
helper that files submissions with real small files on disk (helpers in helpers.py)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import storage
from portal.inbox import credentials
from portal.models import StoredFile, Submission, db, new_id
from tests.apps import MakeApp
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    Filed,
    FileSpec,
    MakeSubmission,
    add_editor,
    english_client,
    sign_in,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    monkeypatch.setattr(credentials, "now", lambda: moving.now)
    return moving


@pytest.fixture
def inbox_app(make_app: MakeApp, clock: Clock) -> Flask:
    # No app context is held here: each request must get its own, as in production
    # (a shared one would share Flask-Login's user and the database session).
    return make_app()


@pytest.fixture
def web(inbox_app: Flask) -> FlaskClient:
    return english_client(inbox_app)


@pytest.fixture
def editor(inbox_app: Flask, clock: Clock) -> EditorAccount:
    return add_editor(inbox_app, "ana", clock)


@pytest.fixture
def signed_in(web: FlaskClient, editor: EditorAccount, clock: Clock) -> FlaskClient:
    response = sign_in(web, editor)
    assert response.status_code == 302, response.get_data(as_text=True)
    return web


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


@pytest.fixture
def make_submission(inbox_app: Flask) -> MakeSubmission:
    """File a submission as the public side would: files under its folder, then rows."""
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
        with inbox_app.app_context():
            db.session.add(submission)
            db.session.commit()
        return filed

    return make
