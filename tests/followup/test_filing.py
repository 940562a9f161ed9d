"""A tipster's later message is filed like a tip: all of it or nothing. Its files are
moved into the thread's folder before its rows are committed; a failed commit takes
them out again, and files a crash left without rows are swept at the next start."""

from __future__ import annotations

import io
import os
import time

import pytest
from flask import Flask
from sqlalchemy import select

from portal import storage
from portal.models import StoredFile, Submission, ThreadMessage, db
from tests.apps import MakeApp, close_app
from tests.followup.helpers import FOLLOWUP, conversation_token, open_conversation, send_tip
from tests.inbox.helpers import EditorAccount, add_editor, english_client
from tests.public.helpers import png_bytes


def folder_of(app: Flask) -> tuple[str, list[str]]:
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
    folder = storage.submission_dir(data_dir, submission_id)
    return submission_id, sorted(p.name for p in folder.iterdir())


def send_files(client, note: str = "more", count: int = 2):
    files = [(io.BytesIO(png_bytes(colour=c)), f"{c}.png") for c in ("red", "blue")[:count]]
    return client.post(
        FOLLOWUP["en"],
        data={"csrf_token": conversation_token(client, "en"), "intent": "send",
              "note": note, "homepage": "", "files": files},
        content_type="multipart/form-data",
    )  # fmt: skip


def test_a_failed_commit_keeps_nothing_of_the_message(
    inbox_app: Flask, editor: EditorAccount, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en", files=[(png_bytes(), "tip.png")])
    open_conversation(tipster, "en", shown)
    _, before = folder_of(inbox_app)
    real_commit = db.session.commit

    def failing_commit() -> None:
        # The message's rows are flushed before its commit (to hold the inbox key).
        if any(isinstance(row, ThreadMessage) for row in db.session.identity_map.values()):
            raise RuntimeError("INSERT failed for note 'words of the tipster'")
        real_commit()

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = send_files(tipster, note="words of the tipster")
    assert response.status_code == 500
    monkeypatch.undo()
    assert folder_of(inbox_app)[1] == before
    with inbox_app.app_context():
        assert db.session.scalars(select(ThreadMessage)).all() == []
        assert len(db.session.scalars(select(StoredFile)).all()) == 1
    assert "filing failed" in caplog.text and "words of the tipster" not in caplog.text
    # The conversation still works afterwards.
    assert send_files(tipster).status_code == 200
    assert len(folder_of(inbox_app)[1]) == 6  # three images, each with its thumbnail


def test_files_a_crash_left_without_rows_are_swept_at_start(make_app: MakeApp, clock) -> None:
    app = make_app(persistent_database=True, inbox_key=False)
    add_editor(app, "ana", clock)
    tipster = english_client(app)
    _, shown = send_tip(tipster, "en", files=[(png_bytes(), "tip.png")])
    open_conversation(tipster, "en", shown)
    assert send_files(tipster).status_code == 200
    submission_id, filed = folder_of(app)
    assert len(filed) == 6  # three images, each with its thumbnail
    folder = storage.submission_dir(app.config["PORTAL_SETTINGS"].data_dir, submission_id)
    # What a crash between moving a message's files in and committing leaves.
    # Swept once untouched for a form's lifetime (a fresh one may be another host's,
    # about to be committed).
    stray = folder / "0123456789abcdef0123456789abcdef.age"
    stray.write_bytes(b"unfiled")
    long_ago = time.time() - app.config["PORTAL_SETTINGS"].csrf_time_limit - 60
    os.utime(stray, (long_ago, long_ago))
    fresh = folder / "fedcba9876543210fedcba9876543210.age"
    fresh.write_bytes(b"being filed")
    close_app(app)  # a restart: the new process is alone on the data folder
    again = make_app(persistent_database=True, inbox_key=False)
    assert folder_of(again)[1] == sorted([*filed, fresh.name])  # thumbnails stay too
