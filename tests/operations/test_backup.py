"""``flask backup`` and ``flask restore`` (portal/backup.py): a backup restored into an
empty installation opens, and an editor reads every tip, note and file in it through
the inbox with their password; a backup taken while a tip is filed or deleted is
consistent; a damaged backup, or an installation that is not empty, is refused with
nothing restored; and a backup holds nothing in clear, no session, no secret key."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import create_engine, inspect, select

from portal import backup, storage
from portal.database import sqlite_path
from portal.inbox.deletion import delete_submissions
from portal.models import EditorSession, StoredFile, Submission, ThreadMessage, TipsterSession, db
from tests.apps import DatabaseUrls, MakeApp, running_app
from tests.encryption.helpers import every_byte_under, noise_jpeg, noise_wav, runs_of
from tests.followup.helpers import (
    FOLLOWUP,
    conversation_token,
    open_conversation,
    send_tip,
    text_of,
)
from tests.inbox.helpers import Clock, EditorAccount, add_editor, english_client, sign_in, token
from tests.inbox_keys import content_of, plaintext_of
from tests.operations.helpers import flask_command, modes_under, tree
from tests.public.helpers import post_tip

NOTE = "CANARY-NOTE {n}: la entrega es en el almacén {n} de la colonia Centro"


def file_tip(app: Flask, n: int) -> str:
    """A tip through the public form, with a photo (it gets a thumbnail) and a sound."""
    before = _ids(app)
    response = post_tip(
        english_client(app), "en", note=NOTE.format(n=n), contact=f"CANARY-CONTACT-{n}",
        files=[(noise_jpeg(64 + n, 48), f"IMG_{n}.jpg"), (noise_wav(), "voice.wav")],
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    (new,) = _ids(app) - before
    return new


def _ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Submission.id)))


def everything_filed(app: Flask) -> dict[str, tuple[str, dict[str, bytes]]]:
    """Each submission's note and its files' plaintext, read with the inbox key."""
    with app.app_context():
        return {
            item.id: (
                content_of(app, item).note,
                {f.id: plaintext_of(app, f) for f in item.files},
            )
            for item in db.session.scalars(select(Submission))
        }


@pytest.fixture
def source(make_app: MakeApp, clock: Clock) -> tuple[Flask, EditorAccount]:
    """A running installation (SQLite and its secret key in its data folder) with an
    editor."""
    app = make_app(persistent_database=True, inbox_key=False, secret_key="")
    return app, add_editor(app, "ana", clock)


def take_backup(app: Flask, dest: Path) -> None:
    result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert "Backup written to" in result.output


Command = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def command(database_urls: DatabaseUrls) -> Command:
    """``command(data_dir, *args)``: a ``flask`` command in its own process, on the
    data folder and the database the suite gives that folder."""

    def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
        url = database_urls.url(data_dir, persistent=True)
        return flask_command(data_dir, *args, database_url=url)

    return run


def restore(command: Command, backup_dir: Path, data_dir: Path) -> str:
    """``flask restore`` as an operator runs it, on a new empty data folder."""
    data_dir.mkdir(mode=0o700, exist_ok=True)
    result = command(data_dir, "restore", str(backup_dir))
    assert result.returncode == 0, result.stderr
    return result.stdout


def restored_installation(
    command: Command, backup_dir: Path, tmp_path: Path, make_app: MakeApp
) -> Flask:
    """An app on a new installation ``flask restore`` filled from ``backup_dir``."""
    restored_dir = tmp_path / "restored"
    restore(command, backup_dir, restored_dir)
    return make_app(data_dir=restored_dir, persistent_database=True, inbox_key=False)


def read_everything_through_the_inbox(
    app: Flask, editor: EditorAccount, expected: dict[str, tuple[str, dict[str, bytes]]]
) -> None:
    """Sign in as ``editor`` and read every tip, its note, each file and thumbnail."""
    web = english_client(app)
    editor.clock.advance(seconds=90)  # a fresh code: the one used before is spent
    response = sign_in(web, editor)
    assert response.status_code == 302, response.get_data(as_text=True)
    listing = web.get("/inbox/").get_data(as_text=True)
    with app.app_context():
        rows = {s.id: s for s in db.session.scalars(select(Submission))}
        assert set(rows) == set(expected)
        thumbnails = {f.id: f.thumbnail_name for f in db.session.scalars(select(StoredFile))}
    for submission_id, (note, files) in expected.items():
        assert f"/inbox/s/{submission_id}" in listing
        page = web.get(f"/inbox/s/{submission_id}").get_data(as_text=True)
        assert note in page
        for file_id, plain in files.items():
            download = web.get(f"/inbox/s/{submission_id}/f/{file_id}")
            assert download.status_code == 200 and download.data == plain
            if thumbnails[file_id]:
                thumb = web.get(f"/inbox/s/{submission_id}/f/{file_id}/thumbnail")
                assert thumb.status_code == 200
                assert Image.open(io.BytesIO(thumb.data)).format == "JPEG"


def test_a_backup_restored_into_an_empty_installation_reads_every_tip(
    source: tuple[Flask, EditorAccount], make_app: MakeApp, tmp_path: Path, command: Command
) -> None:
    app, editor = source
    for n in range(3):
        file_tip(app, n)
    expected = everything_filed(app)
    assert len(expected) == 3 and all(len(files) == 2 for _, files in expected.values())
    signed_in = english_client(app)
    assert sign_in(signed_in, editor).status_code == 302  # a live session: not backed up
    with app.app_context():
        sealed_session = db.session.scalar(select(EditorSession.sealed))
    assert sealed_session

    dest = tmp_path / "backups" / "2026-12-01"
    dest.parent.mkdir()
    take_backup(app, dest)
    assert modes_under(dest) == {("dir", 0o700), ("file", 0o600)}
    assert [p.name for p in dest.parent.iterdir()] == ["2026-12-01"]  # no partial left
    manifest = json.loads((dest / "manifest.json").read_text())
    assert sorted(manifest["submissions"]) == sorted(expected)
    assert manifest["database"]["file"] in {"database.sqlite3", "database.pgdump"}
    # Nothing in clear that is not in clear at rest; no session; no secret key.
    haystack = every_byte_under(dest)
    assert b"CANARY" not in haystack
    for _, files in expected.values():
        for plain in files.values():
            assert not any(run in haystack for run in runs_of(plain))
    assert sealed_session not in haystack
    secret_key = (app.config["PORTAL_SETTINGS"].data_dir / "secret_key").read_bytes()
    assert secret_key not in haystack and "secret_key" not in tree(dest)
    # The stored files, byte for byte as on disk (encrypted, never decrypted).
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    on_disk = tree(data_dir / "submissions")
    assert {k: v for k, v in tree(dest).items() if k.startswith("submissions/")} == {
        f"submissions/{k}": v for k, v in on_disk.items()
    }

    restored_dir = tmp_path / "restored"
    output = restore(command, dest, restored_dir)
    assert "Restored 3 submissions and" in output
    assert tree(restored_dir / "submissions") == on_disk
    restored = make_app(data_dir=restored_dir, persistent_database=True, inbox_key=False)
    with restored.app_context():
        assert db.session.scalar(select(EditorSession)) is None
    read_everything_through_the_inbox(restored, editor, expected)


def test_a_backup_taken_while_a_tip_is_filed_leaves_it_out_whole(
    source: tuple[Flask, EditorAccount],
    make_app: MakeApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: Command,
) -> None:
    app, editor = source
    file_tip(app, 1)
    before = everything_filed(app)
    dest = tmp_path / "backup"
    publish = storage.publish_staging

    def publish_then_back_up(data_dir: Path, staging: Path, submission_id: str) -> Path:
        # The new tip's folder is in submissions/, its row not yet committed.
        target = publish(data_dir, staging, submission_id)
        assert any(target.iterdir())
        backup.make_backup(data_dir, app.config["SQLALCHEMY_DATABASE_URI"], dest)
        return target

    with monkeypatch.context() as patch:
        patch.setattr(storage, "publish_staging", publish_then_back_up)
        in_flight = file_tip(app, 2)
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["submissions"] == sorted(before)
    assert not any(in_flight in name for name in manifest["files"])

    restored = restored_installation(command, dest, tmp_path, make_app)
    read_everything_through_the_inbox(restored, editor, before)


def test_a_submission_deleted_during_the_backup_is_left_out_and_others_restore(
    source: tuple[Flask, EditorAccount],
    make_app: MakeApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: Command,
) -> None:
    app, editor = source
    kept, doomed = file_tip(app, 1), file_tip(app, 2)
    expected = everything_filed(app)
    del expected[doomed]
    settings = app.config["PORTAL_SETTINGS"]
    copy_files = backup._copy_files

    def delete_after_the_snapshot(data_dir, listing, work, entries):  # type: ignore[no-untyped-def]
        assert doomed in listing.submissions  # the snapshot has it
        with app.test_request_context():
            delete_submissions(settings.data_dir, [doomed], "ana")
        return copy_files(data_dir, listing, work, entries)

    monkeypatch.setattr(backup, "_copy_files", delete_after_the_snapshot)
    dest = tmp_path / "backup"
    take_backup(app, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["submissions"] == [kept] and manifest["left_out"] == [doomed]
    assert not (dest / "submissions" / doomed).exists()

    restored = restored_installation(command, dest, tmp_path, make_app)
    read_everything_through_the_inbox(restored, editor, expected)


def _nothing_restored(data_dir: Path, database_url: str) -> None:
    submissions = data_dir / "submissions"
    assert not submissions.exists() or not any(submissions.iterdir())
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []
    database = sqlite_path(database_url)
    if database is not None and (not database.exists() or database.stat().st_size == 0):
        return
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "damage",
    ["flipped byte in a file", "truncated database", "missing file", "truncated manifest"],
)
def test_a_damaged_backup_is_refused_and_nothing_is_restored(
    source: tuple[Flask, EditorAccount],
    tmp_path: Path,
    damage: str,
    command: Command,
    database_urls: DatabaseUrls,
) -> None:
    app, _ = source
    file_tip(app, 1)
    file_tip(app, 2)
    dest = tmp_path / "backup"
    take_backup(app, dest)
    stored = sorted((dest / "submissions").rglob("*.age"))
    if damage == "flipped byte in a file":
        data = bytearray(stored[-1].read_bytes())
        data[len(data) // 2] ^= 1
        stored[-1].write_bytes(bytes(data))
        message = "checksum does not match"
    elif damage == "truncated database":
        name = json.loads((dest / "manifest.json").read_text())["database"]["file"]
        database = dest / name
        database.write_bytes(database.read_bytes()[:4096])
        message = f"is damaged: {name} has 4096 bytes"
    elif damage == "missing file":
        stored[-1].unlink()
        message = f"incomplete: {stored[-1].name} is missing"
    else:
        manifest = dest / "manifest.json"
        manifest.write_bytes(manifest.read_bytes()[:200])
        message = "manifest.json is damaged"
    data_dir = tmp_path / "restored"
    data_dir.mkdir(mode=0o700)
    result = command(data_dir, "restore", str(dest))
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    _nothing_restored(data_dir, database_urls.url(data_dir, persistent=True))


def test_restore_refuses_an_installation_that_is_not_empty(
    source: tuple[Flask, EditorAccount], make_app: MakeApp, tmp_path: Path, command: Command
) -> None:
    app, _ = source
    file_tip(app, 1)
    dest = tmp_path / "backup"
    take_backup(app, dest)
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    before = tree(data_dir / "submissions")

    # A running portal, then the same folder stopped: both refused.
    result = command(data_dir, "restore", str(dest))
    assert result.returncode == 1 and "stop it before restoring" in result.stderr
    app.extensions["portal_storage_lock"].close()
    result = command(data_dir, "restore", str(dest))
    assert result.returncode == 1 and "holds submissions already" in result.stderr
    assert tree(data_dir / "submissions") == before

    # An installation whose database has tables (a portal started once) is not empty.
    other = tmp_path / "started"
    started = make_app(data_dir=other, persistent_database=True, inbox_key=False)
    started.extensions["portal_storage_lock"].close()
    result = command(other, "restore", str(dest))
    assert result.returncode == 1 and "database has tables already" in result.stderr
    assert not any((other / "submissions").iterdir())


@pytest.mark.postgresql_only("an empty SQLite database gets its tables at the first start")
def test_restore_refuses_while_a_portal_waits_for_the_tables(
    source: tuple[Flask, EditorAccount],
    tmp_path: Path,
    command: Command,
    database_urls: DatabaseUrls,
) -> None:
    """Services started on the new, empty database before the restore answer 503
    until it has tables, then serve by themselves: they are running, and restore
    must see it (it looks at their serving lock)."""
    app, _ = source
    file_tip(app, 1)
    dest = tmp_path / "backup"
    take_backup(app, dest)
    data_dir = tmp_path / "restored"
    empty = database_urls.url(data_dir, persistent=True)  # the database restore fills
    with running_app(data_dir, database_url=empty, inbox_key=False) as waiting:
        assert waiting.test_client().get("/en/").status_code == 503
        result = command(data_dir, "restore", str(dest))
        assert result.returncode == 1 and "stop it before restoring" in result.stderr
        assert tree(data_dir / "submissions") == {}
    restore(command, dest, data_dir)  # once it has stopped


def test_backup_refuses_an_existing_destination(
    source: tuple[Flask, EditorAccount], tmp_path: Path
) -> None:
    app, _ = source
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "keep").write_text("mine")
    result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert result.exit_code == 1 and "exists already" in result.output
    assert (dest / "keep").read_text() == "mine"
    assert shutil.disk_usage(tmp_path)  # and nothing else was written beside it
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_conversations_are_backed_up_and_their_phrase_still_opens_them(
    source: tuple[Flask, EditorAccount],
    make_app: MakeApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: Command,
) -> None:
    app, editor = source
    tipster = english_client(app)
    _, phrase = send_tip(
        tipster, "en", note="CANARY-THREAD first", files=[(noise_jpeg(65, 48), "a.jpg")]
    )
    assert open_conversation(tipster, "en", phrase).status_code == 303
    assert send_more(tipster, note="CANARY-THREAD second", files=[(noise_jpeg(66, 48), "b.jpg")])
    web = english_client(app)
    assert sign_in(web, editor).status_code == 302
    (thread,) = _ids(app)
    response = web.post(
        f"/inbox/s/{thread}/reply",
        data={"csrf_token": token(web, f"/inbox/s/{thread}"), "text": "CANARY-REPLY gracias"},
    )
    assert response.status_code == 302
    expected = everything_filed(app)
    with app.app_context():
        assert db.session.scalar(select(TipsterSession)) is not None  # not backed up
        assert len(db.session.scalars(select(ThreadMessage)).all()) == 2

    # A third message is being filed: its file is in the thread's folder, its rows
    # not yet committed, when the backup runs. It is left out.
    dest = tmp_path / "backup"
    publish_files = storage.publish_files

    def publish_then_back_up(data_dir: Path, staging: Path, submission_id: str) -> list[str]:
        moved = publish_files(data_dir, staging, submission_id)
        backup.make_backup(data_dir, app.config["SQLALCHEMY_DATABASE_URI"], dest)
        return moved

    with monkeypatch.context() as patch:
        patch.setattr(storage, "publish_files", publish_then_back_up)
        assert send_more(tipster, note="third", files=[(noise_jpeg(67, 48), "c.jpg")])
    manifest = json.loads((dest / "manifest.json").read_text())
    backed_up = {name.rsplit("/", 1)[1] for name in manifest["files"] if "/" in name}
    with app.app_context():
        latest = db.session.scalars(select(StoredFile).order_by(StoredFile.position)).all()[-1]
    assert latest.stored_name not in backed_up and len(backed_up) >= 2
    assert b"CANARY" not in every_byte_under(dest)

    restored = restored_installation(command, dest, tmp_path, make_app)
    with restored.app_context():
        assert db.session.scalar(select(TipsterSession)) is None
    read_everything_through_the_inbox(restored, editor, expected)
    web = english_client(restored)
    editor.clock.advance(seconds=60)
    assert sign_in(web, editor).status_code == 302
    page = web.get(f"/inbox/s/{thread}").get_data(as_text=True)
    assert "CANARY-THREAD second" in page and "CANARY-REPLY gracias" in page
    assert "third" not in text_of(page).replace("CANARY-THREAD", "")
    # The tipster's phrase opens the restored thread, with the editors' reply.
    comeback = english_client(restored)
    assert open_conversation(comeback, "en", phrase).status_code == 303
    assert "CANARY-REPLY gracias" in comeback.get(FOLLOWUP["en"]).get_data(as_text=True)


def send_more(client, note: str, files):  # type: ignore[no-untyped-def]
    """A later message from the open conversation."""
    response = client.post(
        FOLLOWUP["en"],
        data={
            "csrf_token": conversation_token(client, "en"),
            "intent": "send",
            "note": note,
            "links": "",
            "homepage": "",
            "files": [(io.BytesIO(data), name) for data, name in files],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_a_file_the_installation_lacks_is_reported_and_its_tip_kept(
    source: tuple[Flask, EditorAccount], tmp_path: Path, command: Command, make_app: MakeApp
) -> None:
    app, editor = source
    damaged, whole = file_tip(app, 1), file_tip(app, 2)
    expected = everything_filed(app)
    with app.app_context():
        lost = db.session.scalars(
            select(StoredFile).where(StoredFile.submission_id == damaged)
        ).first()
        assert lost is not None
        lost_id, lost_name = lost.id, lost.stored_name
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    storage.stored_file_path(data_dir, damaged, lost_name).unlink()  # lost before the backup
    del expected[damaged][1][lost_id]

    dest = tmp_path / "backup"
    result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert "1 files the database names are missing" in result.output
    assert f"submissions/{damaged}/{lost_name}" in result.output
    manifest = json.loads((dest / "manifest.json").read_text())
    assert sorted(manifest["submissions"]) == sorted([damaged, whole])
    assert manifest["missing"] == [f"submissions/{damaged}/{lost_name}"]
    assert manifest["left_out"] == []

    restored = restored_installation(command, dest, tmp_path, make_app)
    read_everything_through_the_inbox(restored, editor, expected)


def test_backup_refuses_a_destination_inside_the_data_folder(
    source: tuple[Flask, EditorAccount],
) -> None:
    app, _ = source
    inside = app.config["PORTAL_SETTINGS"].data_dir / "backups" / "today"
    inside.parent.mkdir()
    result = app.test_cli_runner().invoke(args=["backup", str(inside)])
    assert result.exit_code == 1 and "outside the data folder" in result.output
    assert list(inside.parent.iterdir()) == []
