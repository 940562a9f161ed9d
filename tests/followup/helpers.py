"""Helpers for the conversation tests: sending a tip through the form and coming back
with its phrase, the conversation page's form token, and a page's words."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.public.helpers import csrf_token, post_tip

FOLLOWUP = {"es": "/es/seguimiento", "en": "/en/follow-up"}
_PHRASE = re.compile(r'<p class="phrase" id="phrase"[^>]*>([^<]+)</p>')


def phrase_in(page: str) -> str:
    match = _PHRASE.search(page)
    assert match, "the receipt shows a follow-up phrase"
    return match.group(1)


def send_tip(client: FlaskClient, lang: str = "en", **fields: object) -> tuple[TestResponse, str]:
    """A tip through the form; the receipt and the phrase it shows."""
    fields.setdefault("note", "a tip")
    response = post_tip(client, lang, **fields)  # type: ignore[arg-type]
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, phrase_in(response.get_data(as_text=True))


def open_conversation(client: FlaskClient, lang: str, phrase: str) -> TestResponse:
    """Type ``phrase`` on the follow-up page (the answer, not followed)."""
    return client.post(
        FOLLOWUP[lang],
        data={"csrf_token": csrf_token(client, lang), "intent": "open", "phrase": phrase},
    )


def conversation_token(client: FlaskClient, lang: str) -> str:
    page = client.get(FOLLOWUP[lang]).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match
    return match.group(1)


def text_of(page: str) -> str:
    """A page's words, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())
