"""Conversations at rest: after a tip, a later message with a file, editors' replies and
an open tipster session, nothing of the phrase, the notes, the replies or the files
is readable anywhere under the data folder (database included); everything reads
back for those who hold the keys. A rotation keeps replies readable by both."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from portal.crypto import age, phrase
from portal.followup import words
from portal.models import StoredFile, Submission, ThreadMessage, TipsterSession, db
from tests.apps import MakeApp, on_sqlite
from tests.encryption.helpers import every_byte_under, runs_of
from tests.followup.helpers import (
    FOLLOWUP,
    conversation_token,
    open_conversation,
    send_tip,
    text_of,
)
from tests.inbox.helpers import Clock, add_editor, english_client, sign_in
from tests.inbox.helpers import token as inbox_token
from tests.inbox_keys import plaintext_of

TIP_NOTE = "CANARY-TIP: la bodega de la calle Juárez"
LATER_NOTE = "CANARY-LATER: el camión salió a las tres"
LATER_LINK = "https://canary.example/CANARY-LATER-LINK"
REPLY = "CANARY-REPLY: ¿tienes el video original?"
CANARIES = [TIP_NOTE, LATER_NOTE, LATER_LINK, REPLY, "Juárez", "camión salió", "video original"]


def noisy_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((96, 64), 60).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def disk_app(make_app: MakeApp, clock: Clock) -> Flask:
    """SQLite in a file in the data folder, as deployed."""
    return make_app(persistent_database=True, inbox_key=False)


def phrase_forms(shown: str) -> list[bytes]:
    """The phrase as typed or stored in any likely way: whole, folded, and every pair
    of neighbouring words (single words are common enough to occur by chance)."""
    folded = words.fold(shown).split()
    pairs = [" ".join(folded[i : i + 2]) for i in range(len(folded) - 1)]
    shown_pairs = [" ".join(shown.split()[i : i + 2]) for i in range(len(folded) - 1)]
    forms = [shown, words.fold(shown), "".join(folded), "-".join(folded), *pairs, *shown_pairs]
    return [f.encode() for f in forms] + [f.encode("utf-16-le") for f in forms[:2]]


@pytest.mark.proves("no-phrase", "conversation-encrypted")
def test_nothing_of_a_conversation_is_readable_on_disk(disk_app: Flask, clock: Clock) -> None:
    editor = add_editor(disk_app, "ana", clock)
    tipster = english_client(disk_app)
    _, shown = send_tip(tipster, "es", note=TIP_NOTE)
    assert open_conversation(tipster, "es", shown).status_code == 303
    photo = noisy_jpeg()
    sent = tipster.post(
        FOLLOWUP["es"],
        data={"csrf_token": conversation_token(tipster, "es"), "intent": "send",
              "note": LATER_NOTE, "links": LATER_LINK, "homepage": "",
              "files": [(io.BytesIO(photo), "IMG_2001.jpg")]},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert sent.status_code == 200
    web = english_client(disk_app)
    assert sign_in(web, editor).status_code == 302
    with disk_app.app_context():
        thread_id = db.session.scalars(select(Submission.id)).one()
    page = f"/inbox/s/{thread_id}"
    assert (
        web.post(
            f"{page}/reply", data={"csrf_token": inbox_token(web, page), "text": REPLY}
        ).status_code
        == 302
    )
    # The tipster's session is open (its row is on disk) while everything is searched.
    assert REPLY in tipster.get(FOLLOWUP["es"]).get_data(as_text=True)
    data_dir = disk_app.config["PORTAL_SETTINGS"].data_dir
    with disk_app.app_context():
        assert db.session.scalars(select(TipsterSession)).all()
        later = db.session.scalars(
            select(StoredFile).where(StoredFile.message_id.is_not(None))
        ).one()
        cleaned = plaintext_of(disk_app, later)
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
    haystack = every_byte_under(data_dir)
    for canary in CANARIES:
        assert canary.encode() not in haystack, canary
        assert canary.encode("utf-16-le") not in haystack, canary
    for form in phrase_forms(shown):
        assert form not in haystack, form
    assert str(keys.identity).encode() not in haystack  # the tipster's private key
    assert str(keys.identity).lower().encode() not in haystack
    for run in runs_of(cleaned):
        assert run not in haystack
    # Everything reads back for an editor, and the reply for the phrase's key.
    editor_page = text_of(web.get(page).get_data(as_text=True))
    for canary in (TIP_NOTE, LATER_NOTE, LATER_LINK, REPLY):
        assert canary in editor_page, canary
    assert web.get(f"{page}/f/{later.id}").data == cleaned
    with disk_app.app_context():
        sealed = db.session.scalars(
            select(ThreadMessage.sealed).where(ThreadMessage.author == ThreadMessage.EDITORS)
        ).one()
    assert age.decrypt(sealed, [keys.identity]).decode().count("CANARY-REPLY") == 1
    # Leaving deletes the session row, whose bytes SQLite overwrites.
    with disk_app.app_context():
        row = db.session.scalars(select(TipsterSession)).one().sealed
    if on_sqlite(disk_app):  # PostgreSQL's files are not in the data folder
        assert row in (data_dir / "portal.sqlite3").read_bytes()
    tipster.post(
        FOLLOWUP["es"], data={"csrf_token": conversation_token(tipster, "es"), "intent": "leave"}
    )
    with disk_app.app_context():
        assert db.session.scalars(select(TipsterSession)).all() == []
    assert row not in every_byte_under(data_dir)


def test_a_rotation_keeps_replies_readable_by_both(disk_app: Flask, clock: Clock) -> None:
    editor = add_editor(disk_app, "ana", clock)
    tipster = english_client(disk_app)
    _, shown = send_tip(tipster, "en", note="rotate me")
    web = english_client(disk_app)
    assert sign_in(web, editor).status_code == 302
    with disk_app.app_context():
        thread_id = db.session.scalars(select(Submission.id)).one()
    page = f"/inbox/s/{thread_id}"
    web.post(f"{page}/reply", data={"csrf_token": inbox_token(web, page), "text": "kept reply"})
    web.post(f"{page}/reply", data={"csrf_token": inbox_token(web, page), "text": "gone reply"})
    assert open_conversation(tipster, "en", shown).status_code == 303
    tipster.get(FOLLOWUP["en"])  # both read
    with disk_app.app_context():
        gone = db.session.scalars(
            select(ThreadMessage.id)
            .where(ThreadMessage.author == ThreadMessage.EDITORS)
            .order_by(ThreadMessage.created_at)  # no order is kept without one
        ).all()[1]
    tipster.post(
        FOLLOWUP["en"],
        data={"csrf_token": conversation_token(tipster, "en"), "intent": "delete", "reply": gone},
    )
    result = disk_app.test_cli_runner().invoke(
        args=["inbox", "rotate", "--by", "ana"], input=f"{editor.password}\n"
    )
    assert result.exit_code == 0, result.output
    page_text = tipster.get(FOLLOWUP["en"]).get_data(as_text=True)
    assert "kept reply" in page_text and "gone reply" not in page_text
    clock.advance(seconds=60)
    again = english_client(disk_app)
    assert sign_in(again, editor).status_code == 302
    editor_page = again.get(page).get_data(as_text=True)
    assert "kept reply" in editor_page and "gone reply" in editor_page
    with disk_app.app_context():
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
        for message in db.session.scalars(select(ThreadMessage)):
            stanzas = message.sealed.count(b"-> X25519 ")
            assert stanzas == (1 if message.deleted_by_tipster else 2)
        deleted = db.session.get(ThreadMessage, gone)
        with pytest.raises(age.AgeError):
            age.decrypt(deleted.sealed, [keys.identity])
