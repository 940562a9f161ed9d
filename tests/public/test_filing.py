"""Atomic filing: all of a submission or nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from portal import storage
from portal.models import StoredFile, Submission, db
from portal.public import filing
from tests.public.helpers import png_bytes, post_tip, submission_state


def _rows(app) -> tuple[int, int]:
    with app.app_context():
        return db.session.query(Submission).count(), db.session.query(StoredFile).count()


def _assert_nothing_kept(app, response):
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "could not be saved" in text and "Nothing was saved" in text
    assert _rows(app) == (0, 0)
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


THREE_FILES = [(png_bytes(colour=c), f"{c}.png") for c in ("red", "green", "blue")]


def test_a_good_submission_is_one_row_and_one_folder(app, client):
    response = post_tip(client, "en", note="n", files=THREE_FILES)
    assert response.status_code == 200
    assert _rows(app) == (1, 3)
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    folders, stray = submission_state(data_dir)
    assert stray == []
    with app.app_context():
        submission = db.session.query(Submission).one()
        assert folders == [submission.id]
        names = sorted(name for f in submission.files for name in (f.stored_name, f.thumbnail_name))
        assert [f.position for f in submission.files] == [1, 2, 3]
    assert sorted(p.name for p in (data_dir / "submissions" / submission.id).iterdir()) == names
    for path in (data_dir / "submissions" / submission.id).iterdir():
        assert path.stat().st_mode & 0o777 == 0o600


def test_crash_while_cleaning_the_second_file_keeps_nothing(app, client, monkeypatch):
    calls = []
    real = filing.clean_file

    def flaky(src, dst, limits=None, **options):
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk on fire")
        return real(src, dst, limits, **options)

    monkeypatch.setattr(filing, "clean_file", flaky)
    _assert_nothing_kept(app, post_tip(client, "en", note="n", files=THREE_FILES))
    assert not any(p.exists() for p in calls)  # every original was deleted


def test_each_kept_file_and_the_folder_are_fsynced_once(app, client, monkeypatch):
    """Durability without paying twice: the cleaner's plaintext output is never
    fsynced (it is encrypted and deleted at once); each encrypted file (and each
    photo's encrypted thumbnail) is fsynced once, before its rename, and the staging
    folder once, not once per file."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    assert post_tip(client, "en", note="n", files=THREE_FILES).status_code == 200
    with app.app_context():
        submission = db.session.query(Submission).one()
        names = sorted(name for f in submission.files for name in (f.stored_name, f.thumbnail_name))
    written = [re.fullmatch(r"\.(.+)\.[0-9a-f]{8}\.part", Path(p).name) for p in synced]
    assert sorted(m.group(1) for m in written if m) == names  # each once
    assert not any("/work-" in p for p in synced)  # no plaintext made durable
    assert len([p for p in synced if Path(p).name.startswith("staging-")]) == 1


def test_failure_while_publishing_keeps_nothing(app, client, monkeypatch):
    def broken_fsync(path):
        raise OSError("fsync failed")

    monkeypatch.setattr(storage, "fsync_dir", broken_fsync)
    _assert_nothing_kept(app, post_tip(client, "en", note="n", files=THREE_FILES))


def test_failure_at_commit_removes_the_folder(app, client, monkeypatch):
    published = []
    real_publish = storage.publish_staging

    def spy(data_dir, staging, submission_id):
        target = real_publish(data_dir, staging, submission_id)
        published.append(target)
        return target

    real_commit = db.session.commit

    def failing_commit():
        # The tip's rows are flushed before its commit (to hold the inbox key).
        if not any(isinstance(row, Submission) for row in db.session.identity_map.values()):
            return real_commit()  # not the tip's own commit
        assert published and published[0].is_dir()  # the folder existed at commit time
        raise RuntimeError("database is locked")

    monkeypatch.setattr(storage, "publish_staging", spy)
    monkeypatch.setattr(db.session, "commit", failing_commit)
    _assert_nothing_kept(app, post_tip(client, "en", note="n", files=THREE_FILES))
    assert not published[0].exists()


def test_failure_is_logged_without_the_tipsters_words(app, client, monkeypatch, caplog):
    def failing_commit():
        raise RuntimeError("INSERT failed for note 'secret words of the tipster'")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = post_tip(client, "en", note="secret words of the tipster")
    assert response.status_code == 500
    assert "filing failed" in caplog.text
    assert "secret words" not in caplog.text


#: each path a tip with files can take: what it sends, and the answer that shows the
#: path was taken (status, words on the page)
PATHS = {
    "receipt": ({"note": "n"}, 200, "Thank you. Your tip was received."),
    "validation": ({"note": "n", "links": "not a link"}, 422, "not a web address"),
    "csrf": ({"note": "n", "token": ""}, 400, "This form has expired"),
    "honeypot": ({"note": "n", "homepage": "x"}, 200, "Not sent"),
    "too_large": ({"note": "n"}, 413, "larger than the portal accepts"),
}


@pytest.mark.parametrize("outcome", list(PATHS))
def test_temporary_originals_are_deleted_on_every_path(make_app, outcome):
    app = make_app(max_file_size=10_000)
    client = app.test_client()
    files = [(png_bytes(), "a.png"), (os.urandom(500), "b.bin")]
    kwargs, status, words = PATHS[outcome]
    if outcome == "too_large":
        files.append((os.urandom(20_000), "c.bin"))
    response = post_tip(client, "en", files=files, **kwargs)
    assert response.status_code == status
    assert words in " ".join(response.get_data(as_text=True).split())
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir)[1] == []
