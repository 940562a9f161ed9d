"""Encryption at rest, end to end: tips filed through the form leave nothing readable
in the data folder or the database (a canary search over every byte), and read back
whole for a signed-in editor; a cookie forged with ``secret_key`` and the database
shows nothing; an ended session leaves nothing an old cookie could open."""

from __future__ import annotations

import base64
import io
import os
import zipfile

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.crypto import age, sealer, streaming
from portal.models import EditorSession, StoredFile, Submission, db
from tests.apps import MakeApp, on_sqlite
from tests.encryption.helpers import every_byte_under, noise_jpeg, noise_wav, runs_of
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    add_editor,
    english_client,
    sign_in,
    token,
)
from tests.inbox_keys import plaintext_of
from tests.public.helpers import post_tip

NOTE = "CANARY-NOTE: el halcón está en la bodega 7 de la calle Juárez"
LINK = "https://canary.example/evidence/CANARY-LINK-41"
CONTACT = "CANARY-CONTACT: signal +52 000 000 0000"
CANARIES = [NOTE, LINK, CONTACT, "el halcón", "CANARY-LINK-41", "+52 000 000 0000"]


@pytest.fixture
def disk_app(make_app: MakeApp, clock: Clock) -> Flask:
    """An inbox app whose SQLite database is a file in the data folder, as deployed."""
    return make_app(persistent_database=True, inbox_key=False)


@pytest.fixture
def filed(inbox_app: Flask, editor: EditorAccount) -> list[str]:
    return file_tips(inbox_app)


def file_tips(app: Flask) -> list[str]:
    """Two tips sent through the public form, with canaries and files."""
    client = english_client(app)
    for _ in range(2):
        response = post_tip(
            client, "en", note=NOTE, links=LINK, contact=CONTACT,
            files=[(noise_jpeg(), "IMG_1.jpg"), (noise_wav(seconds=20), "voice.wav")],
        )  # fmt: skip
        assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        return list(db.session.scalars(select(Submission.id)))


def cleaned_files(app: Flask) -> dict[str, bytes]:
    with app.app_context():
        return {f.id: plaintext_of(app, f) for f in db.session.scalars(select(StoredFile))}


@pytest.mark.proves("stored-encrypted")
def test_nothing_readable_on_disk_and_everything_reads_back(
    disk_app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recording (320 KB) is sealed by the helper process as it is written, as a
    # big video is: batches of two chunks, sealed once a chunk is written after them.
    monkeypatch.setattr(streaming, "BATCH", 2)
    monkeypatch.setattr(streaming, "WINDOW", age.CHUNK)
    helpers_started = []
    real_helper = sealer.SealerProcess.__init__

    def counted(self, *args):
        helpers_started.append(1)
        real_helper(self, *args)

    monkeypatch.setattr(sealer.SealerProcess, "__init__", counted)
    inbox_app = disk_app
    editor = add_editor(inbox_app, "ana", clock)
    filed = file_tips(inbox_app)
    data_dir = inbox_app.config["PORTAL_SETTINGS"].data_dir
    if on_sqlite(inbox_app):
        assert (data_dir / "portal.sqlite3").is_file()  # searched with every other file
    plain = cleaned_files(inbox_app)
    assert len(plain) == 4
    assert len(helpers_started) == 2  # one per recording
    haystack = every_byte_under(data_dir)
    assert b"AGE-SECRET-KEY" not in haystack.upper()
    for canary in CANARIES:
        assert canary.encode() not in haystack, canary
        assert canary.encode("utf-16-le") not in haystack, canary
    for data in plain.values():
        for run in runs_of(data):
            assert run not in haystack
    # Every stored file is an age file.
    for path in (data_dir / "submissions").rglob("*"):
        if path.is_file():
            assert path.read_bytes().startswith(age.INTRO) and path.suffix == ".age"

    web = english_client(inbox_app)
    assert sign_in(web, editor).status_code == 302
    listing = web.get("/inbox/").get_data(as_text=True)
    assert "CANARY-NOTE" in listing
    found = web.get("/inbox/", query_string={"q": "halcón ESTÁ"}).get_data(as_text=True)
    assert all(f"/inbox/s/{i}" in found for i in filed)
    # The search left its index in the database: sealed too.
    after_search = every_byte_under(data_dir)
    for canary in CANARIES:
        assert canary.encode() not in after_search, canary
    for submission_id in filed:
        page = web.get(f"/inbox/s/{submission_id}").get_data(as_text=True)
        assert NOTE in page and LINK in page and CONTACT in page
        archive = zipfile.ZipFile(io.BytesIO(web.get(f"/inbox/s/{submission_id}/files.zip").data))
        assert sorted(archive.read(i) for i in archive.infolist()) == sorted(
            data for file_id, data in plain.items() if file_id in page
        )
    with inbox_app.app_context():
        rows = db.session.scalars(select(StoredFile)).all()
        for row in rows:
            url = f"/inbox/s/{row.submission_id}/f/{row.id}"
            assert web.get(url).data == plain[row.id]
            middle = row.size // 2
            part = web.get(url + "/inline", headers={"Range": f"bytes={middle}-{middle + 99}"})
            if row.kind == "audio":
                assert part.status_code == 206
                assert part.data == plain[row.id][middle : middle + 100]


def forge(app: Flask, values: dict[str, object]) -> str:
    """A session cookie as anyone holding ``secret_key`` can make one."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return serializer.dumps(values)


def test_a_cookie_forged_with_the_secret_key_and_the_database_shows_nothing(
    inbox_app: Flask, filed: list[str], signed_in: FlaskClient
) -> None:
    # A real session exists: its row id is in the database the attacker copied.
    with inbox_app.app_context():
        session_id = db.session.scalar(select(EditorSession.id))
    assert session_id
    random_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    attempts = [
        {"_user_id": session_id, "_fresh": True},
        {"_user_id": session_id, "_fresh": True, "session_key": random_key},
        {"_user_id": "1", "_fresh": True, "session_key": random_key},
        {"_user_id": "1:0:0", "_fresh": True},  # the shape sessions had before
    ]
    for values in attempts:
        attacker = english_client(inbox_app)
        attacker.set_cookie("portal_session", forge(inbox_app, values), domain="localhost")
        for path in ["/inbox/", f"/inbox/s/{filed[0]}", f"/inbox/s/{filed[0]}/files.zip"]:
            response = attacker.get(path)
            assert response.status_code == 302 and "/inbox/login" in response.location, values
            assert b"CANARY" not in response.data
    # The real editor's session is untouched by all that.
    assert "CANARY-NOTE" in signed_in.get("/inbox/").get_data(as_text=True)


@pytest.mark.sqlite_only("reads the SQLite file's bytes: its secure_delete")
@pytest.mark.parametrize("ending", ["sign-out", "idle", "reset"])
def test_an_ended_session_leaves_nothing_an_old_cookie_opens(
    disk_app: Flask, clock: Clock, ending: str
) -> None:
    editor = add_editor(disk_app, "ana", clock)
    client = english_client(disk_app)
    assert sign_in(client, editor).status_code == 302
    with disk_app.app_context():
        row = db.session.scalar(select(EditorSession))
        sealed, session_id = row.sealed, row.id
    database = disk_app.config["PORTAL_SETTINGS"].data_dir / "portal.sqlite3"
    assert sealed in database.read_bytes()  # the oracle: the search below can find it
    old_cookie = client.get_cookie("portal_session")
    assert old_cookie is not None
    if ending == "sign-out":
        assert client.post("/inbox/logout", data={"csrf_token": token(client)}).status_code == 302
    elif ending == "idle":
        clock.advance(seconds=disk_app.config["PORTAL_SETTINGS"].editor_idle_timeout + 1)
        english_client(disk_app).get("/inbox/login")  # any request sweeps idle sessions
    else:
        result = disk_app.test_cli_runner().invoke(
            args=["editor", "reset", "ana", "--by", "ana"],
            input=f"{editor.password}\n" + "a brand new passphrase\n" * 2,
        )
        assert result.exit_code == 0, result.output
    with disk_app.app_context():
        assert db.session.get(EditorSession, session_id) is None
    # Neither the row nor its bytes remain (SQLite's secure_delete), so the cookie's
    # key has nothing left to open on disk.
    data_dir = disk_app.config["PORTAL_SETTINGS"].data_dir
    assert sealed not in every_byte_under(data_dir)
    replay = english_client(disk_app)
    replay.set_cookie("portal_session", old_cookie.value, domain="localhost")
    assert replay.get("/inbox/").status_code == 302
