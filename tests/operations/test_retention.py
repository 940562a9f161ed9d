"""``PORTAL_RETENTION_DAYS`` (portal/retention.py): ``flask housekeeping`` deletes the
submissions whose last activity is older than that, with their files, thumbnails,
later messages and replies, the way an editor's deletion does, each in the audit log
in both languages; starred ones stay; unset, nothing is deleted. Time is moved, never
waited for."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from portal import retention
from portal.database import sqlite_path
from portal.inbox import audit
from portal.models import AuditEvent, StoredFile, Submission, ThreadMessage, db, utcnow
from tests.apps import MakeApp
from tests.inbox.helpers import (
    Clock,
    add_editor,
    english_client,
    file_submission,
    jpeg_file,
    sign_in,
    wav_file,
)
from tests.public.helpers import png_bytes, post_tip


@pytest.fixture
def moved_time(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The clock retention reads: ``moved_time[0]``, changed by the test."""
    now = [utcnow()]
    monkeypatch.setattr(retention, "utcnow", lambda: now[0])
    return now


def housekeeping(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    return result.output


def ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Submission.id)))


def add_message(app: Flask, submission_id: str, at: datetime) -> tuple[str, str]:
    """A tipster's later message with a file in the thread's folder, and an editors'
    reply, as the conversation code stores them; the thread's activity moves to ``at``."""
    later = file_submission(app, files=[wav_file()])  # its file and row, moved below
    with app.app_context():
        stored = db.session.scalar(select(StoredFile).where(StoredFile.submission_id == later.id))
        thread = db.session.get(Submission, submission_id)
        message = ThreadMessage(
            submission_id=submission_id, author=ThreadMessage.TIPSTER, sealed=b"age", key_id=1
        )
        reply = ThreadMessage(
            submission_id=submission_id, author=ThreadMessage.EDITORS, sealed=b"age", key_id=1
        )
        db.session.add_all([message, reply])
        db.session.flush()
        source = later.folder / stored.stored_name
        source.rename(thread_folder(app, submission_id) / stored.stored_name)
        stored.submission_id, stored.message_id = submission_id, message.id
        thread.last_activity_at = at
        db.session.delete(db.session.get(Submission, later.id))
        db.session.commit()
        later.folder.rmdir()
        return message.id, reply.id


def thread_folder(app: Flask, submission_id: str):  # type: ignore[no-untyped-def]
    return app.config["PORTAL_SETTINGS"].data_dir / "submissions" / submission_id


def test_housekeeping_deletes_what_is_past_retention_and_keeps_the_rest(
    make_app: MakeApp, clock: Clock, moved_time: list[datetime]
) -> None:
    app = make_app(persistent_database=True, retention_days=30)
    editor = add_editor(app, "ana", clock)
    now = moved_time[0]
    days = lambda n: now - timedelta(days=n)  # noqa: E731
    # Through the form: a photo with its thumbnail; then moved 31 days back.
    assert post_tip(english_client(app), "en", note="old", files=[(png_bytes(), "a.png")])
    (photo,) = ids(app)
    with app.app_context():
        db.session.execute(
            update(Submission).values(created_at=days(31), last_activity_at=days(31))
        )
        db.session.commit()
        assert db.session.scalar(select(StoredFile.thumbnail_name))  # there is one to delete
    old = file_submission(app, files=[jpeg_file()], created_at=days(40))
    archived = file_submission(app, created_at=days(40), is_archived=True)
    starred = file_submission(app, files=[jpeg_file()], created_at=days(400), is_starred=True)
    recent = file_submission(app, files=[jpeg_file()], created_at=days(29))
    talking = file_submission(app, files=[jpeg_file()], created_at=days(90))
    message_id, reply_id = add_message(app, talking.id, at=days(5))
    # SQLite overwrites deleted rows (secure_delete); PostgreSQL keeps them until VACUUM.
    database = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        old_sealed = db.session.get(Submission, old.id).sealed
    if database is not None:
        assert old_sealed in database.read_bytes()  # the oracle for secure deletion

    output = housekeeping(app)
    assert "retention (30 days): deleted 3 submissions" in output
    assert ids(app) == {starred.id, recent.id, talking.id}
    folders = {p.name for p in (app.config["PORTAL_SETTINGS"].data_dir / "submissions").iterdir()}
    assert folders == {starred.id, recent.id, talking.id}
    if database is not None:
        assert old_sealed not in database.read_bytes()

    # A day later the recent one is past; 30 days after its last message, the thread
    # goes with its messages, replies and their files.
    moved_time[0] = now + timedelta(days=2)
    assert "deleted 1 submissions" in housekeeping(app)
    assert ids(app) == {starred.id, talking.id}
    moved_time[0] = now + timedelta(days=26)
    assert "deleted 1 submissions" in housekeeping(app)
    assert ids(app) == {starred.id}
    assert not thread_folder(app, talking.id).exists()
    with app.app_context():
        assert db.session.get(ThreadMessage, message_id) is None
        assert db.session.get(ThreadMessage, reply_id) is None
        with_message = select(StoredFile).where(StoredFile.message_id.is_not(None))
        assert db.session.scalar(with_message) is None
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == audit.RETENTION_DELETE)
        ).all()
    assert sorted(e.target for e in events) == sorted(
        [photo, old.id, archived.id, recent.id, talking.id]
    )
    assert {e.editor for e in events} == {audit.RETENTION}

    web = english_client(app)
    editor.clock.advance(seconds=60)
    assert sign_in(web, editor).status_code == 302
    assert_audit_words(web, "en", "(automatic, retention period)",
                       "Deletion of a submission after the retention period")  # fmt: skip
    assert_audit_words(web, "es", "(automático, plazo de conservación)",
                       "Borrado de un envío al vencer el plazo de conservación")  # fmt: skip


def assert_audit_words(web: FlaskClient, language: str, actor: str, action: str) -> None:
    web.get(f"/inbox/language/{language}")
    page = html.unescape(web.get("/inbox/audit").get_data(as_text=True))
    assert f"<td>{actor}</td>" in page and f"<td>{action}</td>" in page
    assert audit.RETENTION not in page


def test_unset_retention_deletes_nothing(
    make_app: MakeApp, clock: Clock, moved_time: list[datetime]
) -> None:
    app = make_app()
    long_ago = moved_time[0] - timedelta(days=3650)
    ancient = file_submission(app, files=[jpeg_file()], created_at=long_ago)
    output = housekeeping(app)
    assert "retention" not in output
    assert ids(app) == {ancient.id} and ancient.folder.is_dir()
