"""A key rotation while the portal serves: a tip sealed to the old key before the
rotation began is either re-encrypted with everything else (filed before the old key
is deleted) or refused whole and the tipster told (filed after); never filed under a
key no one holds. An editor's reply sealed as the old key goes is sealed again to
the new one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from portal import storage
from portal.crypto import phrase
from portal.crypto.keyring import Content
from portal.followup import threads, words
from portal.inbox import rotation
from portal.models import InboxKey, StoredFile, Submission, ThreadMessage, db
from portal.public import filing
from tests.apps import MakeApp
from tests.encryption.helpers import noise_jpeg
from tests.followup.helpers import send_tip
from tests.inbox.helpers import Clock, add_editor, english_client, sign_in
from tests.inbox.helpers import token as inbox_token
from tests.inbox_keys import ensure_inbox, plaintext_of, remember
from tests.public.helpers import post_tip

WAIT = 60  # seconds a step may take on a busy machine before the test gives up


@pytest.fixture
def app(make_app: MakeApp, clock: Clock) -> Flask:
    served = make_app(persistent_database=True, inbox_key=False)
    add_editor(served, "ana", clock)  # makes the first inbox key
    return served


@contextmanager
def tip_held_after_cleaning(
    app: Flask, monkeypatch: pytest.MonkeyPatch, **fields: Any
) -> Iterator[Callable[[], Any]]:
    """A tip posted in another thread, held once its files are cleaned and sealed to
    the key of the moment (as a slow upload is): yields a function that lets it go
    on and returns its response."""
    cleaned, go, responses = threading.Event(), threading.Event(), []
    real = filing._clean_into_staging

    def clean_then_wait(*args: Any, **kwargs: Any) -> Any:
        staged = real(*args, **kwargs)
        cleaned.set()
        assert go.wait(WAIT)
        return staged

    monkeypatch.setattr(filing, "_clean_into_staging", clean_then_wait)
    client = english_client(app)
    poster = threading.Thread(target=lambda: responses.append(post_tip(client, "en", **fields)))
    poster.start()
    assert cleaned.wait(WAIT), "the tip never reached its commit"

    def response() -> Any:
        go.set()
        poster.join(WAIT)
        assert not poster.is_alive() and responses
        return responses[0]

    try:
        yield response
    finally:
        go.set()
        poster.join(WAIT)


def rotate(app: Flask, progress: rotation.Progress | None = None) -> str:
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with app.app_context():
        return remember(rotation.rotate(data_dir, ensure_inbox(app), progress))


def only_key(app: Flask) -> int:
    with app.app_context():
        return db.session.scalars(select(InboxKey.id)).one()


def test_a_tip_filed_during_the_rotation_is_encrypted_again(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = only_key(app)
    with tip_held_after_cleaning(
        app, monkeypatch, note="RACE-TIP", files=[(noise_jpeg(), "a.jpg")]
    ) as response:
        answers: list[Any] = []

        def file_it_once_the_rest_is_done(done: int, total: int) -> None:
            # The tip commits (under the old key, which still exists) after the
            # rotation listed what to encrypt again and did it all.
            if done == total and not answers:
                answers.append(response())

        rotate(app, file_it_once_the_rest_is_done)
    assert answers[0].status_code == 200, answers[0].get_data(as_text=True)
    new_key = only_key(app)
    assert new_key != old_key
    with app.app_context():
        tip = db.session.scalars(select(Submission)).one()
        assert tip.key_id == new_key
        assert Content.open(tip.sealed, tip.key_id, ensure_inbox(app)).note == "RACE-TIP"
        stored = db.session.scalars(select(StoredFile)).one()
        assert stored.key_id == new_key
        assert plaintext_of(app, stored).startswith(b"\xff\xd8")


def test_a_tip_whose_key_was_deleted_meanwhile_is_refused_whole(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with tip_held_after_cleaning(
        app, monkeypatch, note="LATE-TIP", files=[(noise_jpeg(), "a.jpg")]
    ) as response:
        rotate(app)  # the whole rotation, old key deleted, before the tip commits
        answer = response()
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503, page
    assert "Nothing was saved" in page and "try again" in page
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []
        assert db.session.scalars(select(StoredFile)).all() == []
    assert storage.submission_folders(data_dir) == []
    assert list((data_dir / "staging").iterdir()) == []
    # The tipster sends it again, and it is filed under the new key.
    assert post_tip(english_client(app), "en", note="LATE-TIP").status_code == 200
    with app.app_context():
        tip = db.session.scalars(select(Submission)).one()
        assert tip.key_id == only_key(app)


def test_a_reply_sealed_as_the_rotation_ends_is_sealed_to_the_new_key(
    app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, shown = send_tip(english_client(app), "en", note="ask me")
    web = english_client(app)
    assert sign_in(web, add_editor(app, "bea", clock)).status_code == 302
    with app.app_context():
        thread_id = db.session.scalars(select(Submission.id)).one()
    page = f"/inbox/s/{thread_id}"
    token = inbox_token(web, page)
    real, rotated = threads._seal_reply, []

    def seal_while_a_rotation_finishes(text: str, recipients: list[Any]) -> bytes:
        sealed = real(text, recipients)
        if not rotated:  # sealed to the old key, which the rotation then deletes
            worker = threading.Thread(target=lambda: rotated.append(rotate(app)))
            worker.start()
            worker.join(WAIT)
        return sealed

    monkeypatch.setattr(threads, "_seal_reply", seal_while_a_rotation_finishes)
    web.post(f"{page}/reply", data={"csrf_token": token, "text": "RACE-REPLY"})
    assert rotated, "the rotation did not finish"
    new_key = only_key(app)
    with app.app_context():
        reply = db.session.scalars(select(ThreadMessage)).one()
        assert reply.key_id == new_key
        assert threads.reply_text(reply, ensure_inbox(app)) == "RACE-REPLY"
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
        assert [r.text for r in threads.replies_for_tipster(reply.submission, keys.identity)] == [
            "RACE-REPLY"
        ]
        db.session.rollback()


@pytest.mark.postgresql_only("on SQLite one writer at a time: the two never overlap")
def test_the_rotation_waits_for_a_tip_holding_its_key(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, go, responses = threading.Event(), threading.Event(), []
    real = filing.hold_key

    def hold_then_wait(key_id: int) -> None:
        real(key_id)
        held.set()
        assert go.wait(WAIT)

    monkeypatch.setattr(filing, "hold_key", hold_then_wait)
    client = english_client(app)
    poster = threading.Thread(
        target=lambda: responses.append(post_tip(client, "en", note="HELD-TIP"))
    )
    poster.start()
    assert held.wait(WAIT)
    rotator = threading.Thread(target=rotate, args=(app,))
    rotator.start()
    with app.app_context():  # until the rotation's DELETE waits for the tip's lock
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(WAIT * 20):
            if db.session.scalar(waiting):
                break
            db.session.rollback()
            time.sleep(0.05)
        else:
            pytest.fail("the rotation never waited for the tip")
    go.set()
    poster.join(WAIT)
    rotator.join(WAIT)
    assert responses[0].status_code == 200
    with app.app_context():
        tip = db.session.scalars(select(Submission)).one()
        assert tip.key_id == only_key(app)
        assert Content.open(tip.sealed, tip.key_id, ensure_inbox(app)).note == "HELD-TIP"
