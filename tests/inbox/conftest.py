"""Fixtures for the editors' inbox: an app on a temporary data folder, a clock tests
can move, an editor with a known password and TOTP secret, a signed-in client, and a
helper that files submissions with real small files on disk (helpers in helpers.py)."""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.inbox import credentials
from tests.apps import MakeApp
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    MakeSubmission,
    add_editor,
    english_client,
    file_submission,
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
    # No inbox key either: the first editor added makes it, as `flask editor add` does.
    return make_app(inbox_key=False)


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
    """File a submission as the public side would: files encrypted to the inbox key
    under its folder, then rows (see :func:`tests.inbox.helpers.file_submission`)."""
    return functools.partial(file_submission, inbox_app)
