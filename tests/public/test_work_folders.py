"""No original outlives its worker. Each request's uploads live in a folder under
tmp/ that the serving process keeps locked; when the process dies (SIGKILL, the OOM
killer) the kernel drops the lock, and any surviving process removes the folder:
at start, at the next tip, and every few seconds on its own."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from portal import storage
from portal.housekeeping import sweep_abandoned_work
from portal.public import filing
from tests.public.helpers import host_temp_dir, png_bytes, post_tip, tagged_jpeg

FORK = multiprocessing.get_context("fork")


def _hold_a_folder(root: str, ready) -> None:
    """A stand-in worker: makes a request folder with an 'original' in it, then waits."""
    folder = storage.WorkFolder(Path(root))
    (folder.path / "upload-original").write_bytes(b"GPS 19.4326,-99.1332")
    work = storage.new_work_dir(Path(root).parent, Path(root), within=folder.path)
    (work / "half-cleaned").write_bytes(b"x")
    ready.put(str(folder.path))
    time.sleep(600)


def _start_worker(root: Path) -> tuple[multiprocessing.Process, Path]:
    ready = FORK.Queue()
    process = FORK.Process(target=_hold_a_folder, args=(str(root), ready), daemon=True)
    process.start()
    return process, Path(ready.get(timeout=30))


def _kill(process: multiprocessing.Process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=30)


def test_a_dead_workers_folder_is_swept_and_a_live_ones_kept(tmp_path: Path) -> None:
    root = storage.tmp_root(tmp_path / "data", tmp_path / "data" / "tmp")
    dead, dead_folder = _start_worker(root)
    live, live_folder = _start_worker(root)
    try:
        assert dead_folder.name.startswith(f"request-{dead.pid}-")
        assert sweep_abandoned_work(root) == 0  # both alive
        _kill(dead)
        assert sweep_abandoned_work(root) == 1
        assert not dead_folder.exists()
        assert (live_folder / "upload-original").exists()
    finally:
        _kill(live)
    assert sweep_abandoned_work(root) == 1
    assert list(root.iterdir()) == []


def test_a_serving_process_sweeps_on_its_own_within_seconds(app) -> None:
    """No request needed: the sweeper thread of every serving process does it."""
    root = app.config["PORTAL_SETTINGS"].temp_dir
    worker, folder = _start_worker(root)
    _kill(worker)
    deadline = time.monotonic() + 15
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not folder.exists()


def test_a_new_worker_sweeps_at_start(make_app) -> None:
    app = make_app()
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    worker, folder = _start_worker(storage.tmp_root(data_dir, host_temp_dir(data_dir)))
    _kill(worker)
    with open(app.config["PORTAL_SETTINGS"].host_lock, "rb") as other_worker:
        fcntl.flock(other_worker, fcntl.LOCK_SH)  # other workers still serve
        app.extensions["portal_storage_lock"].close()
        make_app()
    assert not folder.exists()


def test_the_next_tip_sweeps_too(app, client) -> None:
    root = app.config["PORTAL_SETTINGS"].temp_dir
    app.extensions["portal_sweeper"].set()  # only the tip itself may sweep here
    worker, folder = _start_worker(root)
    _kill(worker)
    assert post_tip(client, "es", note="otra").status_code == 200
    assert not folder.exists()


def test_uploads_and_staging_live_in_a_locked_folder_removed_after(
    app, client, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = app.config["PORTAL_SETTINGS"].temp_dir
    seen: list[tuple[Path, Path, bool]] = []
    real_clean = filing.clean_file

    def watching(source: Path, target: Path, *args, **kwargs):
        folder = source.parent
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = False
        except BlockingIOError:
            locked = True
        finally:
            os.close(fd)
        seen.append((source, target, locked))
        return real_clean(source, target, *args, **kwargs)

    monkeypatch.setattr(filing, "clean_file", watching)
    files = [(tagged_jpeg(tmp_path), "a.jpg"), (png_bytes(), "b.png")]
    assert post_tip(client, "en", note="two files", files=files).status_code == 200
    assert len(seen) == 2
    for source, target, locked in seen:
        folder = source.parent
        assert folder.parent == root and folder.name.startswith(f"request-{os.getpid()}-")
        assert target.parent.parent == folder  # the cleaned plaintext is inside it too
        assert locked
    assert list(root.iterdir()) == []
