"""A conversation end to end: the receipt's phrase, coming back with it (however it
is typed), a wrong phrase, editors' replies and the tipster's later messages and
files, deleting a reply, closing, declining a phrase, leaving and the idle limit."""

from __future__ import annotations

import base64
import io
import os
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.crypto import age, phrase
from portal.followup import sessions, words
from portal.models import StoredFile, Submission, ThreadMessage, TipsterSession, db
from tests.exiftool_oracle import leaks
from tests.followup.helpers import (
    FOLLOWUP,
    conversation_token,
    open_conversation,
    send_tip,
    text_of,
)
from tests.inbox.helpers import EditorAccount, english_client, token
from tests.inbox_keys import plaintext_of
from tests.public.helpers import HTML_LANG, png_bytes, tagged_jpeg

LANGS = ["es", "en"]


def only_thread(app: Flask) -> Submission:
    with app.app_context():
        thread = db.session.scalars(select(Submission)).one()
        db.session.expunge(thread)
        return thread


def reply(web: FlaskClient, submission_id: str, text: str) -> None:
    response = web.post(
        f"/inbox/s/{submission_id}/reply",
        data={"csrf_token": token(web, f"/inbox/s/{submission_id}"), "text": text},
    )
    assert response.status_code == 302


def send_more(client: FlaskClient, lang: str, note: str = "", files=(), links: str = ""):
    return client.post(
        FOLLOWUP[lang],
        data={
            "csrf_token": conversation_token(client, lang),
            "intent": "send",
            "note": note,
            "links": links,
            "homepage": "",
            "files": [(io.BytesIO(data), name) for data, name in files],
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("lang", LANGS)
def test_the_receipt_gives_a_phrase_in_the_tipsters_language_and_explains_it(
    inbox_app: Flask, editor: EditorAccount, lang: str
) -> None:
    receipt, shown = send_tip(english_client(inbox_app), lang)
    page = text_of(receipt.get_data(as_text=True))
    word_list = words.word_list(lang)
    assert len(shown.split(" ")) == word_list.length
    assert set(shown.split(" ")) <= set(word_list.words)
    explained = {
        "en": [
            "Write the words down on paper",
            "the only way back",
            "We cannot recover them",
            "someone who checks your phone",
            "I don't want a way back",
        ],
        "es": [
            "Escribe las palabras en papel",
            "la única forma de volver",
            "No podemos recuperarlas",
            "alguien que revise tu celular",
            "No quiero una forma de volver",
        ],
    }
    for sentence in explained[lang]:
        assert sentence in page, sentence
    assert f'href="{FOLLOWUP[lang]}"' in receipt.get_data(as_text=True)
    # The phrase is not stored: not in the row, and the lookup is what Argon2id gives.
    with inbox_app.app_context():
        thread = db.session.scalars(select(Submission)).one()
        assert shown.encode() not in thread.sealed
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
        assert thread.lookup == keys.lookup
        assert thread.tipster_key == str(keys.recipient)


@pytest.mark.parametrize("lang", LANGS)
def test_the_form_links_the_conversation_page(client: FlaskClient, lang: str) -> None:
    assert f'href="{FOLLOWUP[lang]}"' in client.get(f"/{lang}/").get_data(as_text=True)
    page = client.get(FOLLOWUP[lang])
    assert page.status_code == 200
    assert f'<html lang="{HTML_LANG[lang]}"' in page.get_data(as_text=True)
    other = "en" if lang == "es" else "es"
    # The other language's address leads to this language's page.
    wrong = client.get(FOLLOWUP[other].replace(f"/{other}/", f"/{lang}/"))
    assert wrong.status_code == 302 and wrong.location == FOLLOWUP[lang]


def test_spanish_entry_ignores_accents_case_and_spaces(
    inbox_app: Flask, editor: EditorAccount
) -> None:
    client = english_client(inbox_app)
    # Tips until one's phrase has an accented word (about one in three words has one).
    for _ in range(20):
        _, shown = send_tip(client, "es")
        if words.fold(shown) != shown:
            break
    assert words.fold(shown) != shown, "no accented word in 20 phrases"
    typed = "   " + "  \n ".join(words.fold(shown).upper().split()) + "  "
    response = open_conversation(client, "es", typed)
    assert response.status_code == 303 and response.location == FOLLOWUP["es"]
    page = client.get(FOLLOWUP["es"])
    assert "Tu conversación" in page.get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_phrase_says_nothing_about_whether_a_thread_exists(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, lang: str
) -> None:
    client = english_client(inbox_app)
    _, declined = send_tip(client, lang)
    forget = client.post(
        FOLLOWUP[lang],
        data={"csrf_token": conversation_token(client, lang), "intent": "forget",
              "phrase": declined},
    )  # fmt: skip
    assert forget.status_code == 200
    _, deleted = send_tip(client, lang)
    with inbox_app.app_context():
        doomed = db.session.scalars(
            select(Submission.id).where(Submission.tipster_key.is_not(None))
        ).one()
    confirm = signed_in.post(
        f"/inbox/s/{doomed}/delete", data={"csrf_token": token(signed_in, f"/inbox/s/{doomed}")}
    )
    assert confirm.status_code == 302
    never = words.word_list(lang).new_phrase()
    answers = []
    for typed in (never, declined, deleted):
        response = open_conversation(english_client(inbox_app), lang, typed)
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        body = re.sub(r'value="[^"]+"', "", body).replace(typed, "PHRASE")
        answers.append(body)
        assert "portal_session" not in response.headers.get("Set-Cookie", "") or (
            "followup" not in response.headers.get("Set-Cookie", "")
        )
    assert answers[0] == answers[1] == answers[2]
    expected = {
        "en": "This phrase does not open a conversation.",
        "es": "Esta frase no abre ninguna conversación.",
    }
    assert expected[lang] in text_of(answers[0])


@pytest.mark.parametrize("lang", LANGS)
def test_a_malformed_phrase_is_explained(
    inbox_app: Flask, editor: EditorAccount, lang: str
) -> None:
    client = english_client(inbox_app)
    shown = words.word_list(lang).new_phrase().split()
    short = open_conversation(client, lang, " ".join(shown[:-1]))
    typo = open_conversation(client, lang, " ".join(["xqzzy", *shown[1:]]))
    assert short.status_code == typo.status_code == 422
    counts = {"en": "A phrase has 8 words; you typed 7.", "es": "Una frase tiene 8 palabras"}
    assert counts[lang] in text_of(short.get_data(as_text=True))
    assert "«xqzzy»" in text_of(typo.get_data(as_text=True))


def test_reply_round_trip(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, clock
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "es", note="la camioneta blanca")
    thread = only_thread(inbox_app)
    page = signed_in.get(f"/inbox/s/{thread.id}").get_data(as_text=True)
    assert "Your reply" in page
    reply(signed_in, thread.id, "¿Tienes el video original?")
    clock.advance(minutes=5)
    reply(signed_in, thread.id, "¿En qué calle fue?\nGracias.")
    assert open_conversation(tipster, "es", shown).status_code == 303
    page = tipster.get(FOLLOWUP["es"]).get_data(as_text=True)
    first, second = page.index("¿Tienes el video original?"), page.index("¿En qué calle fue?")
    assert second < first  # newest first
    assert page.count("Nueva") >= 2
    assert "la camioneta blanca" not in page  # nothing the tipster sent is shown back
    # Seen now: not new at the next visit, and the editors see it was read.
    again = tipster.get(FOLLOWUP["es"]).get_data(as_text=True)
    assert "Nueva" not in text_of(again)
    editor_page = text_of(signed_in.get(f"/inbox/s/{thread.id}").get_data(as_text=True))
    assert editor_page.count("Read by the sender.") == 2
    assert "Reply by ana" in editor_page
    # Each reply is one age file for two recipients: the tipster's key and the inbox's.
    keys = None
    with inbox_app.app_context():
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
        replies = db.session.scalars(
            select(ThreadMessage).where(ThreadMessage.author == ThreadMessage.EDITORS)
        ).all()
        for message in replies:
            assert message.sealed.count(b"-> X25519 ") == 2
            assert b"video original" in age.decrypt(message.sealed, [keys.identity]) or (
                b"calle" in age.decrypt(message.sealed, [keys.identity])
            )


def test_later_messages_and_files_are_cleaned_filed_and_shown_to_editors(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, tmp_path
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en", files=[(png_bytes(), "first.png")])
    assert open_conversation(tipster, "en", shown).status_code == 303
    jpeg = tagged_jpeg(tmp_path)
    receipt = send_more(
        tipster, "en", note="the original, from the roof", links="facebook.com/groups/x",
        files=[(jpeg, "IMG_0001.jpg"), (b"MZ" + bytes(100), "tool.exe")],
    )  # fmt: skip
    assert receipt.status_code == 200
    text = text_of(receipt.get_data(as_text=True))
    # Exactly the receipt of a tip: what arrived, each file, what was removed.
    assert "Your message was added to your conversation." in text
    assert "A note of 27 characters." in text and "1 link." in text
    assert "2 files. 1 of them was not accepted." in text
    assert "GPS location" in text and "camera or phone make and model" in text
    assert "Back to your conversation" in text
    with inbox_app.app_context():
        thread = db.session.scalars(select(Submission)).one()
        message = db.session.scalars(select(ThreadMessage)).one()
        later = db.session.scalars(
            select(StoredFile).where(StoredFile.message_id == message.id)
        ).one()
        assert later.position == 2 and later.submission_id == thread.id
        assert message.refused == ["executable"]
        cleaned = plaintext_of(inbox_app, later)
        assert thread.is_read is False
    (tmp_path / "cleaned.jpg").write_bytes(cleaned)
    assert leaks(tmp_path / "cleaned.jpg") == []
    listing = signed_in.get("/inbox/?has_new=1").get_data(as_text=True)
    assert f"/inbox/s/{thread.id}" in listing and "New message" in listing
    page = text_of(signed_in.get(f"/inbox/s/{thread.id}").get_data(as_text=True))
    assert "Message from the sender" in page and "the original, from the roof" in page
    assert "File 2: photo (JPEG)" in page and "https://facebook.com/groups/x" in page
    download = signed_in.get(f"/inbox/s/{thread.id}/f/{later.id}")
    assert download.data == cleaned
    # Opened: no longer new, and the filter no longer lists it.
    assert f"/inbox/s/{thread.id}" not in signed_in.get("/inbox/?has_new=1").get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGS)
def test_a_later_message_loses_invisible_characters_and_the_receipt_says_so(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, lang: str
) -> None:
    """A passage pasted from a leaked document may carry its reader's mark, in a
    later message as in a first tip."""
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, lang)
    assert open_conversation(tipster, lang, shown).status_code == 303
    mark = "\u200b\u200d\u2060\ufeff\u202e\U000e0041"
    receipt = send_more(
        tipster, lang, note=f"la calle{mark} Juárez", links=f"https://example.org/a{mark}"
    )
    assert receipt.status_code == 200
    notice = {
        "en": "We removed invisible characters from the note and the links.",
        "es": "Quitamos caracteres invisibles de la nota y los enlaces.",
    }[lang]
    assert notice in text_of(receipt.get_data(as_text=True))
    thread = only_thread(inbox_app)
    page = signed_in.get(f"/inbox/s/{thread.id}").get_data(as_text=True)
    assert "la calle Juárez" in page and "https://example.org/a" in page
    assert not any(ch in page for ch in mark)


def test_the_inbox_lists_threads_by_their_latest_activity(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, clock
) -> None:
    tipster = english_client(inbox_app)
    _, older = send_tip(tipster, "en", note="older tip")
    send_tip(tipster, "en", note="newer tip")
    with inbox_app.app_context():
        ids = {
            s.id: s for s in db.session.scalars(select(Submission).order_by(Submission.created_at))
        }
    assert open_conversation(tipster, "en", older).status_code == 303
    assert send_more(tipster, "en", note="more").status_code == 200
    listing = signed_in.get("/inbox/").get_data(as_text=True)
    older_id, newer_id = list(ids)
    assert listing.index(f"/inbox/s/{older_id}") < listing.index(f"/inbox/s/{newer_id}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_tipster_deletes_a_reply_they_have_read(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, lang: str
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, lang)
    thread = only_thread(inbox_app)
    reply(signed_in, thread.id, "a question to delete")
    assert open_conversation(tipster, lang, shown).status_code == 303
    with inbox_app.app_context():
        message_id = db.session.scalars(select(ThreadMessage.id)).one()
    page = tipster.get(FOLLOWUP[lang]).get_data(as_text=True)
    assert "a question to delete" in page and f'value="{message_id}"' in page
    deleted = tipster.post(
        FOLLOWUP[lang],
        data={"csrf_token": conversation_token(tipster, lang), "intent": "delete",
              "reply": message_id},
    )  # fmt: skip
    assert deleted.status_code == 303
    after = tipster.get(FOLLOWUP[lang]).get_data(as_text=True)
    assert "a question to delete" not in after
    assert {"en": "The reply was deleted", "es": "La respuesta se borró"}[lang] in after
    # The editors keep it; the phrase no longer opens it.
    editor_page = text_of(signed_in.get(f"/inbox/s/{thread.id}").get_data(as_text=True))
    assert "a question to delete" in editor_page
    assert "The sender read it and deleted it from their page." in editor_page
    with inbox_app.app_context():
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
        sealed = db.session.get(ThreadMessage, message_id).sealed
    assert sealed.count(b"-> X25519 ") == 1
    with pytest.raises(age.AgeError):
        age.decrypt(sealed, [keys.identity])


def test_an_unread_reply_cannot_be_deleted(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    thread = only_thread(inbox_app)
    assert open_conversation(tipster, "en", shown).status_code == 303
    tipster_token = conversation_token(tipster, "en")  # the page, before any reply
    reply(signed_in, thread.id, "not seen yet")
    with inbox_app.app_context():
        message_id = db.session.scalars(select(ThreadMessage.id)).one()
    tipster.post(
        FOLLOWUP["en"],
        data={"csrf_token": tipster_token, "intent": "delete", "reply": message_id},
    )
    with inbox_app.app_context():
        assert db.session.get(ThreadMessage, message_id).deleted_by_tipster is False


@pytest.mark.parametrize("lang", LANGS)
def test_a_closed_thread_says_the_conversation_has_ended(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, lang: str
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, lang)
    thread = only_thread(inbox_app)
    reply(signed_in, thread.id, "thank you, we have what we need")
    closed = signed_in.post(
        f"/inbox/s/{thread.id}/close",
        data={"csrf_token": token(signed_in, f"/inbox/s/{thread.id}")},
    )
    assert closed.status_code == 302
    assert "This conversation is closed" in signed_in.get(f"/inbox/s/{thread.id}").get_data(
        as_text=True
    )
    assert open_conversation(tipster, lang, shown).status_code == 303
    page = tipster.get(FOLLOWUP[lang]).get_data(as_text=True)
    ended = {
        "en": "The editors have ended this conversation.",
        "es": "El equipo editorial terminó esta conversación.",
    }
    assert ended[lang] in text_of(page)
    assert "thank you, we have what we need" in page
    assert 'value="send"' not in page
    refused = send_more(tipster, lang, note="one more thing")
    assert refused.status_code == 409
    with inbox_app.app_context():
        assert (
            db.session.scalars(
                select(ThreadMessage).where(ThreadMessage.author == ThreadMessage.TIPSTER)
            ).all()
            == []
        )
    reopened = signed_in.post(
        f"/inbox/s/{thread.id}/reopen",
        data={"csrf_token": token(signed_in, f"/inbox/s/{thread.id}")},
    )
    assert reopened.status_code == 302
    assert send_more(tipster, lang, note="one more thing").status_code == 200
    audit = text_of(signed_in.get("/inbox/audit").get_data(as_text=True))
    for action in ("Reply to a sender", "Closing of a conversation", "Reopening of a conversation"):
        assert action in audit


@pytest.mark.parametrize("lang", LANGS)
def test_declining_the_phrase_on_the_receipt(
    inbox_app: Flask, editor: EditorAccount, signed_in: FlaskClient, lang: str
) -> None:
    tipster = english_client(inbox_app)
    receipt, shown = send_tip(tipster, lang)
    html = receipt.get_data(as_text=True)
    form = re.search(
        r'<form method="post" action="([^"]+)" class="decline">(.*?)</form>', html, re.S
    )
    assert form and form.group(1) == FOLLOWUP[lang]
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', form.group(2)))
    assert fields["intent"] == "forget" and fields["phrase"] == shown
    answer = tipster.post(FOLLOWUP[lang], data=fields)
    assert answer.status_code == 200
    again = tipster.post(FOLLOWUP[lang], data=fields)
    assert again.get_data(as_text=True) == answer.get_data(as_text=True)
    assert open_conversation(tipster, lang, shown).status_code == 422
    thread = only_thread(inbox_app)
    assert thread.lookup is None and thread.tipster_key is None
    page = signed_in.get(f"/inbox/s/{thread.id}").get_data(as_text=True)
    assert "The sender has no follow-up phrase" in page and "Send reply" not in page
    refused = signed_in.post(
        f"/inbox/s/{thread.id}/reply",
        data={"csrf_token": token(signed_in, f"/inbox/s/{thread.id}"), "text": "hello?"},
    )
    assert refused.status_code == 302
    with inbox_app.app_context():
        assert db.session.scalars(select(ThreadMessage)).all() == []


def test_the_conversation_page_is_not_cached_and_its_address_names_nothing(
    inbox_app: Flask, editor: EditorAccount
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    opened = open_conversation(tipster, "en", shown)
    assert opened.location == FOLLOWUP["en"]  # no identifier in the address
    page = tipster.get(FOLLOWUP["en"])
    assert page.headers["Cache-Control"] == "no-store"
    cookie = tipster.get_cookie("portal_session")
    assert cookie is not None
    # The cookie is signed, not encrypted (anyone holding it reads it as below): it
    # holds neither the phrase nor anything derived from it.
    serializer = SecureCookieSessionInterface().get_signing_serializer(inbox_app)
    assert serializer is not None
    stored = serializer.loads(cookie.value)
    # Exactly three random values, each in its own fixed shape: a phrase, a word of it
    # or anything longer would need another key or break a shape. Words are not
    # searched for inside the values: a random token holds "add" or "bed" by chance.
    assert sorted(stored) == ["csrf_token", "followup", "followup_key"]
    assert re.fullmatch(r"[0-9a-f]{40}", stored["csrf_token"])
    assert re.fullmatch(r"[0-9a-f]{32}", stored["followup"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=", stored["followup_key"])
    with inbox_app.app_context():
        keys = phrase.derive(words.read(shown).canonical, phrase.installation())
    decoded = str(stored)
    assert str(keys.identity) not in decoded and keys.lookup.hex() not in decoded
    assert base64.urlsafe_b64decode(stored["followup_key"]) not in (
        keys.lookup,
        keys.identity.key.private_bytes_raw(),
    )


def test_leaving_forgets_the_conversation(inbox_app: Flask, editor: EditorAccount) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    open_conversation(tipster, "en", shown)
    kept = tipster.get_cookie("portal_session")
    assert kept is not None
    left = tipster.post(
        FOLLOWUP["en"],
        data={"csrf_token": conversation_token(tipster, "en"), "intent": "leave"},
    )
    assert left.status_code == 303
    page = tipster.get(FOLLOWUP["en"]).get_data(as_text=True)
    assert "You left your conversation." in page and "Your follow-up phrase" in page
    with inbox_app.app_context():
        assert db.session.scalars(select(TipsterSession)).all() == []
    # The cookie from before leaving opens nothing either.
    replay = english_client(inbox_app)
    replay.set_cookie("portal_session", kept.value, domain="localhost")
    assert "Your follow-up phrase" in replay.get(FOLLOWUP["en"]).get_data(as_text=True)


@pytest.mark.parametrize("sweeper", ["conversation page", "tip", "inbox"])
def test_an_idle_conversation_is_forgotten(
    inbox_app: Flask, editor: EditorAccount, monkeypatch: pytest.MonkeyPatch, sweeper: str
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    open_conversation(tipster, "en", shown)
    assert "Replies from the editors" in tipster.get(FOLLOWUP["en"]).get_data(as_text=True)
    idle = inbox_app.config["PORTAL_SETTINGS"].followup_idle_timeout
    real_now = sessions.now
    monkeypatch.setattr(sessions, "now", lambda: real_now() + timedelta(seconds=idle + 1))
    # Someone else's next request (any of these) deletes its row from the database.
    visitor = english_client(inbox_app)
    if sweeper == "conversation page":
        visitor.get(FOLLOWUP["en"])
    elif sweeper == "tip":
        send_tip(visitor, "en")
    else:
        visitor.get("/inbox/login")
    with inbox_app.app_context():
        assert db.session.scalars(select(TipsterSession)).all() == []
    assert "Your follow-up phrase" in tipster.get(FOLLOWUP["en"]).get_data(as_text=True)


def test_sending_after_the_conversation_closed_says_so(
    inbox_app: Flask, editor: EditorAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    open_conversation(tipster, "en", shown)
    form_token = conversation_token(tipster, "en")
    real_now = sessions.now
    idle = inbox_app.config["PORTAL_SETTINGS"].followup_idle_timeout
    monkeypatch.setattr(sessions, "now", lambda: real_now() + timedelta(seconds=idle + 1))
    response = tipster.post(
        FOLLOWUP["en"],
        data={"csrf_token": form_token, "intent": "send", "note": "late", "homepage": ""},
        follow_redirects=True,
    )
    assert "Your conversation was closed. To open it again, type your phrase." in text_of(
        response.get_data(as_text=True)
    )
    with inbox_app.app_context():
        assert db.session.scalars(select(ThreadMessage)).all() == []


def test_a_forged_cookie_opens_no_conversation(inbox_app: Flask, editor: EditorAccount) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    open_conversation(tipster, "en", shown)
    with inbox_app.app_context():
        session_id = db.session.scalars(select(TipsterSession.id)).one()
    serializer = SecureCookieSessionInterface().get_signing_serializer(inbox_app)
    assert serializer is not None
    attacker = english_client(inbox_app)
    forged = serializer.dumps(
        {"followup": session_id, "followup_key": base64.urlsafe_b64encode(os.urandom(32)).decode()}
    )
    attacker.set_cookie("portal_session", forged, domain="localhost")
    page = attacker.get(FOLLOWUP["en"]).get_data(as_text=True)
    assert "Your follow-up phrase" in page and "Replies from the editors" not in page


def test_the_phrase_cost_is_memory_hard_by_default() -> None:
    assert phrase.DEFAULT_COST.memory_cost >= 32 * 1024 and phrase.DEFAULT_COST.time_cost >= 2


def test_every_change_needs_the_forms_token(inbox_app: Flask, editor: EditorAccount) -> None:
    tipster = english_client(inbox_app)
    _, shown = send_tip(tipster, "en")
    # An expired or missing token: the page that says the form expired, nothing done.
    expired = tipster.post(FOLLOWUP["en"], data={"intent": "open", "phrase": shown})
    assert expired.status_code == 400
    assert "This form has expired" in expired.get_data(as_text=True)
    assert open_conversation(tipster, "en", shown).status_code == 303
    for intent in ("leave", "delete", "send"):
        answer = tipster.post(FOLLOWUP["en"], data={"intent": intent, "reply": "x"})
        assert answer.status_code == 400, intent
    forget = tipster.post(FOLLOWUP["en"], data={"intent": "forget", "phrase": shown})
    assert forget.status_code == 400
    # Still open, and the phrase still works.
    assert "Replies from the editors" in tipster.get(FOLLOWUP["en"]).get_data(as_text=True)
    with inbox_app.app_context():
        assert db.session.scalars(select(Submission.tipster_key)).one() is not None
