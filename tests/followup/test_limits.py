"""Guessing phrases cannot exhaust the server: at most ``PORTAL_PHRASE_CHECKS`` key
derivations run at once, across threads and processes sharing the data folder;
beyond that a guess gets a polite, translated 429 page, and nothing about who sent
it is kept. A tip is never refused for want of a slot."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.crypto import phrase
from portal.followup import words
from portal.models import TipsterSession, db
from portal.public import followup
from tests.apps import MakeApp
from tests.encryption.helpers import every_byte_under
from tests.followup.helpers import FOLLOWUP, open_conversation, send_tip, text_of
from tests.inbox.helpers import Clock, EditorAccount, add_editor, english_client

ROOT = Path(__file__).resolve().parents[2]
MARKED_AGENT = "GuessBot/1.0 (marker-7c41)"
BUSY = {
    "en": "Many people are opening conversations right now",
    "es": "Muchas personas están abriendo conversaciones en este momento",
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_guesses_beyond_the_bound_get_a_polite_429(
    inbox_app: Flask, editor: EditorAccount, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = inbox_app.config["PORTAL_SETTINGS"]
    client = english_client(inbox_app)
    _, shown = send_tip(client, lang)
    slots = followup.slots_for(settings)
    with slots.hold(), slots.hold():  # every slot taken (two by default)
        refused = open_conversation(client, lang, shown)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
        assert BUSY[lang] in text_of(refused.get_data(as_text=True))
        # A tip still goes through: its phrase waits, then is derived anyway.
        monkeypatch.setattr(followup, "FILING_WAIT", 0.0)
        send_tip(client, lang)
    assert open_conversation(client, lang, shown).status_code == 303


def test_slots_are_shared_with_other_processes(inbox_app: Flask, editor: EditorAccount) -> None:
    settings = inbox_app.config["PORTAL_SETTINGS"]
    client = english_client(inbox_app)
    _, shown = send_tip(client, "en")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom pathlib import Path\nfrom portal.followup.slots import Slots\n"
         f"s = Slots(Path({str(settings.data_dir / 'phrase-slots')!r}), {settings.phrase_checks})\n"
         "with s.hold(), s.hold():\n    print('held', flush=True)\n    sys.stdin.read()\n"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert open_conversation(client, "en", shown).status_code == 429
    finally:
        holder.communicate("", timeout=30)
    assert open_conversation(client, "en", shown).status_code == 303


@pytest.fixture
def disk_app(make_app: MakeApp, clock: Clock) -> Flask:
    """SQLite in a file (several threads use it at once), with an inbox key."""
    app = make_app(persistent_database=True, inbox_key=False)
    add_editor(app, "ana", clock)
    return app


@pytest.fixture
def live(disk_app: Flask) -> Iterator[str]:
    """The app served by a threaded WSGI server on loopback."""
    server = make_server("127.0.0.1", 0, disk_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=30)


def guess(base: str, lang: str, typed: str) -> tuple[int, str]:
    """One visitor: open the page (for its form token), then send a phrase."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", MARKED_AGENT)]
    page = opener.open(base + FOLLOWUP[lang], timeout=60).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    body = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "intent": "open", "phrase": typed}
    ).encode()
    try:
        with opener.open(base + FOLLOWUP[lang], data=body, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_many_concurrent_guesses(
    live: str, disk_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_app = disk_app
    bound = inbox_app.config["PORTAL_SETTINGS"].phrase_checks
    running = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()
    real_derive = phrase.derive

    def slow_derive(canonical: str, where: phrase.Installation) -> phrase.PhraseKeys:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            release.wait(timeout=120)  # held until the test has seen the refusals
            return real_derive(canonical, where)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(phrase, "derive", slow_derive)
    guesses = 10
    results: list[tuple[int, str]] = []

    def one() -> None:
        outcome = guess(live, "es", words.word_list("es").new_phrase())
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    # Every guess beyond the bound is refused while the first ones are still running.
    for _ in range(600):
        with lock:
            if len(results) >= guesses - bound:
                break
        release.wait(0.1)
    with lock:
        early = list(results)
        assert running == bound
    release.set()
    for thread in threads:
        thread.join(timeout=120)
    assert len(early) == guesses - bound
    assert all(status == 429 for status, _ in early)
    assert all(BUSY["es"] in text_of(body) for _, body in early)
    assert sorted(status for status, _ in results) == [422] * bound + [429] * (guesses - bound)
    assert most == bound
    # Nothing about the guessers was kept.
    with inbox_app.app_context():
        assert db.session.scalars(select(TipsterSession)).all() == []
    data_dir = inbox_app.config["PORTAL_SETTINGS"].data_dir
    assert b"marker-7c41" not in every_byte_under(data_dir)
    assert b"127.0.0.1" not in every_byte_under(data_dir)
