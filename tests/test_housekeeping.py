"""Housekeeping (portal.housekeeping): the start-up sweep of what a crash leaves, and
originals left under tmp/ by a worker that died mid-request (gunicorn kills a sync
worker that overruns --timeout) while other workers keep serving: the start-up sweep
skips tmp/ then, so without more they would stay on disk, GPS tags and all, until
the whole service restarts."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from sqlalchemy import text

from portal import database, housekeeping, storage
from portal.inbox import deletion
from portal.models import StoredFile, Submission, db
from tests.public.helpers import (
    files_under,
    host_temp_dir,
    png_bytes,
    post_tip,
    submission_state,
)


def _rows(app) -> tuple[int, int]:
    with app.app_context():
        return db.session.query(Submission).count(), db.session.query(StoredFile).count()


def _restart(make_app, first):
    # A new process: the old one no longer holds the storage lock. It finds the
    # rows the first one committed, in the same database file.
    first.extensions["portal_storage_lock"].close()
    return make_app(persistent_database=True)


def test_sweep_at_start_removes_leftovers_and_keeps_filed_submissions(make_app):
    app = make_app(persistent_database=True)
    client = app.test_client()
    files = [(png_bytes(colour="red"), "red.png")]
    assert post_tip(client, "en", note="keep me", files=files).status_code == 200
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    (kept,) = submission_state(data_dir)[0]

    # What a crash can leave: an upload, a staging folder, a renamed folder whose
    # row was never committed. Shared folders are swept once untouched for a form's
    # lifetime: a fresh one may be another host's, about to be filed.
    limit = app.config["PORTAL_SETTINGS"].csrf_time_limit
    (host_temp_dir(data_dir) / "upload-deadbeef").write_bytes(b"half an upload")
    staging = storage.new_staging_dir(data_dir)
    (staging / "cleaned").write_bytes(b"x")
    orphan = storage.submission_dir(data_dir, "0" * 32)
    orphan.mkdir()
    (orphan / "file.jpg").write_bytes(b"x")
    for path in (staging / "cleaned", staging, orphan / "file.jpg", orphan):
        _age(path, limit + 60)
    fresh_staging = storage.new_staging_dir(data_dir)
    fresh_orphan = storage.submission_dir(data_dir, "1" * 32)
    fresh_orphan.mkdir()

    _restart(make_app, app)
    assert submission_state(data_dir) == (sorted([kept, "1" * 32]), [])
    assert not staging.exists() and fresh_staging.exists()
    assert _rows(app) == (1, 1)
    assert len(list((data_dir / "submissions" / kept).iterdir())) == 2  # image, thumbnail


def test_no_sweep_while_another_process_serves_the_folder(make_app):
    app = make_app()
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    app.extensions["portal_storage_lock"].close()
    upload = host_temp_dir(data_dir) / "upload-in-progress"
    upload.write_bytes(b"arriving")
    with open(app.config["PORTAL_SETTINGS"].host_lock, "rb") as other_process:
        fcntl.flock(other_process, fcntl.LOCK_SH)
        second = make_app()
        assert upload.exists()
    # once the others are gone, the next start sweeps
    second.extensions["portal_storage_lock"].close()
    make_app()
    assert not upload.exists()


def _age(path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _leftovers(data_dir, limit: int):
    stale_upload = host_temp_dir(data_dir) / "upload-dead-worker"
    stale_upload.write_bytes(b"original with GPS")
    _age(stale_upload, limit + 600)
    stale_staging = storage.new_staging_dir(data_dir)
    (stale_staging / "cleaned").write_bytes(b"x")
    _age(stale_staging / "cleaned", limit + 600)
    _age(stale_staging, limit + 600)
    live_upload = host_temp_dir(data_dir) / "upload-live"
    live_upload.write_bytes(b"still arriving")
    live_staging = storage.new_staging_dir(data_dir)
    (live_staging / "being-cleaned").write_bytes(b"x")  # fresh file in an old folder
    _age(live_staging, limit + 600)
    return [stale_upload, stale_staging], [live_upload, live_staging]


def test_a_new_worker_removes_stale_originals_but_not_live_ones(make_app):
    app = make_app()
    settings = app.config["PORTAL_SETTINGS"]
    app.extensions["portal_storage_lock"].close()
    stale, live = _leftovers(settings.data_dir, settings.csrf_time_limit)
    with open(settings.host_lock, "rb") as other_worker:
        fcntl.flock(other_worker, fcntl.LOCK_SH)
        make_app()  # a worker restarted while another serves
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in live] == [True, True]


def test_stale_originals_are_removed_while_serving(app, client):
    """A killed worker is replaced at once, while its leftovers are still fresh; they
    must go later without waiting for another restart."""
    settings = app.config["PORTAL_SETTINGS"]
    stale, live = _leftovers(settings.data_dir, settings.csrf_time_limit)
    assert post_tip(client, "es", note="otra denuncia").status_code == 200
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in live] == [True, True]


def test_a_host_never_sweeps_another_hosts_uploads(make_app):
    """Hosts sharing a data folder over NFS or CephFS may not see each other's file
    locks: a host starting alone empties its own temporary folder, never another's."""
    app = make_app(persistent_database=True, host_name="host-a")
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    app.extensions["portal_storage_lock"].close()
    other = make_app(persistent_database=True, host_name="host-b")
    other.extensions["portal_storage_lock"].close()
    # host B's request in progress, its lock invisible from host A
    in_progress = other.config["PORTAL_SETTINGS"].temp_dir / f"{storage.WORK_PREFIX}1-ab"
    in_progress.mkdir()
    (in_progress / "upload-original").write_bytes(b"arriving on host B")
    assert app.config["PORTAL_SETTINGS"].temp_dir != other.config["PORTAL_SETTINGS"].temp_dir

    restarted = make_app(persistent_database=True, host_name="host-a")  # alone on host A
    assert restarted.config["PORTAL_SETTINGS"].host_lock.name == "portal-host-a.lock"
    assert post_tip(restarted.test_client(), "es", note="en A").status_code == 200
    assert (in_progress / "upload-original").exists()
    assert files_under(data_dir / "tmp") == [in_progress / "upload-original"]


def _set_revision(app, revision: str) -> None:
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
        db.session.commit()


def test_a_worker_started_before_the_upgrade_keeps_its_uploads(make_app, monkeypatch):
    """A worker that starts while the database waits for ``flask db upgrade``
    answers 503, then serves by itself once the upgrade is done. It holds its host's
    serving lock from the start like any other: otherwise a worker gunicorn starts
    later, or ``flask housekeeping``, takes itself for the only one serving and
    empties tmp/<host>/, a tip being uploaded with it."""
    previous = make_app(persistent_database=True)
    _set_revision(previous, "0004")  # new code deployed, the database not upgraded yet
    previous.extensions["portal_storage_lock"].close()
    waiting = make_app(persistent_database=True, inbox_key=False)
    client = waiting.test_client()
    assert client.get("/en/").status_code == 503
    _set_revision(waiting, database.HEAD)  # the operator's `flask db upgrade`
    monkeypatch.setattr(database, "RECHECK_EVERY", 0.0)
    assert client.get("/en/").status_code == 200
    settings = waiting.config["PORTAL_SETTINGS"]
    upload = storage.WorkFolder(storage.tmp_root(settings.data_dir, settings.temp_dir))
    (upload.path / "upload-original").write_bytes(b"a tip arriving")

    make_app(persistent_database=True)  # gunicorn starts another worker
    swept = waiting.test_cli_runner().invoke(args=["housekeeping"])
    assert swept.exit_code == 0, swept.output
    assert "(servers running)" in swept.output
    assert (upload.path / "upload-original").read_bytes() == b"a tip arriving"
    upload.remove()


def test_a_start_before_the_upgrade_sweeps_the_temporary_folder(make_app):
    """What the database is not needed for is swept at every start; submission
    folders without a row wait for a start or a ``flask housekeeping`` that can read
    the rows."""
    previous = make_app(persistent_database=True)
    settings = previous.config["PORTAL_SETTINGS"]
    _set_revision(previous, "0004")
    previous.extensions["portal_storage_lock"].close()
    left = host_temp_dir(settings.data_dir) / "upload-deadbeef"
    left.write_bytes(b"half an upload of a dead server")
    orphan = storage.submission_dir(settings.data_dir, "0" * 32)
    _stale_folder(orphan, settings.csrf_time_limit + 60)

    waiting = make_app(persistent_database=True, inbox_key=False)
    assert waiting.test_client().get("/en/").status_code == 503
    assert not left.exists()
    assert orphan.exists()
    _set_revision(waiting, database.HEAD)
    waiting.extensions["portal_storage_lock"].close()
    make_app(persistent_database=True)
    assert not orphan.exists()


def _another_sweep_midway(monkeypatch, app, leftover) -> list[int]:
    """Make another process's sweep (of this host or another) run, whole, at the
    moment this one is about to delete the first file of ``leftover`` (a file, or a
    folder's): the interleaving of two workers starting together on the same
    leftovers. Returns what that sweep removed, once it has run."""
    settings = app.config["PORTAL_SETTINGS"]
    names = {leftover.name} | {p.name for p in leftover.rglob("*")}
    unlink = os.unlink
    other: list[int] = []

    def unlink_after_the_other_sweep(path, *args, **kwargs):
        if not other and os.fsdecode(os.path.basename(path)) in names:
            other.append(-1)  # running: its own deletions go straight through
            with app.app_context():
                other[0] = housekeeping.sweep_unfiled(settings.data_dir, settings.csrf_time_limit)
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink_after_the_other_sweep)
    return other


def _stale_folder(folder: Path, seconds: float) -> None:
    """A folder of three files, all of them (and it) last changed ``seconds`` ago."""
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.jpg.age").write_bytes(b"x")
        _age(folder / f"{n}.jpg.age", seconds)
    _age(folder, seconds)


def test_workers_sweeping_the_same_orphan_together_all_start(make_app, monkeypatch):
    """gunicorn's workers start together and each sweeps: two may delete the same
    stale orphan folder at once. The one finding a file gone under it failed to boot,
    and gunicorn stops altogether when a worker fails to boot."""
    app = make_app(persistent_database=True)
    settings = app.config["PORTAL_SETTINGS"]
    orphan = storage.submission_dir(settings.data_dir, "0" * 32)
    _stale_folder(orphan, settings.csrf_time_limit + 60)
    app.extensions["portal_storage_lock"].close()
    other = _another_sweep_midway(monkeypatch, app, orphan)

    started = make_app(persistent_database=True)
    monkeypatch.undo()
    assert other == [1]
    assert not orphan.exists()
    assert post_tip(started.test_client(), "es", note="después").status_code == 200


def test_sweeps_of_the_same_stray_folder_together_both_finish(make_app, monkeypatch):
    """The same, for a stale folder no row names inside a filed submission's."""
    app = make_app(persistent_database=True)
    settings = app.config["PORTAL_SETTINGS"]
    assert post_tip(app.test_client(), "en", note="kept").status_code == 200
    (kept,) = submission_state(settings.data_dir)[0]
    filed = sorted(storage.submission_dir(settings.data_dir, kept).iterdir())
    stray = storage.submission_dir(settings.data_dir, kept) / "cut-short"
    _stale_folder(stray, settings.csrf_time_limit + 60)
    app.extensions["portal_storage_lock"].close()
    other = _another_sweep_midway(monkeypatch, app, stray)

    make_app(persistent_database=True)
    monkeypatch.undo()
    assert other == [1]
    assert not stray.exists()
    assert sorted(storage.submission_dir(settings.data_dir, kept).iterdir()) == filed
    assert _rows(app) == (1, 0)


def test_deleting_a_submission_while_a_sweep_removes_its_strays(make_app, monkeypatch):
    """An editor deletes a submission while a worker starting sweeps a stale stray
    file out of its folder: the deletion finishes (it answered 500 before)."""
    app = make_app(persistent_database=True)
    settings = app.config["PORTAL_SETTINGS"]
    assert post_tip(app.test_client(), "en", note="to delete").status_code == 200
    (doomed,) = submission_state(settings.data_dir)[0]
    folder = storage.submission_dir(settings.data_dir, doomed)
    (folder / "stray.jpg.age").write_bytes(b"x")
    _age(folder / "stray.jpg.age", settings.csrf_time_limit + 60)
    other = _another_sweep_midway(monkeypatch, app, folder / "stray.jpg.age")
    with app.app_context():
        assert deletion.delete_submissions(settings.data_dir, [doomed], "ana") == 1
    monkeypatch.undo()
    assert other == [1]
    assert not folder.exists()
    assert _rows(app) == (0, 0)
