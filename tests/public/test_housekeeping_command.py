"""``flask housekeeping`` (run by deploy/'s timer): while servers run it removes only
what ended processes left; with none running, every leftover."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from portal import storage
from tests.public.helpers import host_temp_dir

FORK = multiprocessing.get_context("fork")
ROOT = Path(__file__).resolve().parents[2]


def _dead_workers_folder(root: Path) -> Path:
    def hold(ready) -> None:
        folder = storage.WorkFolder(root)
        (folder.path / "upload-original").write_bytes(b"GPS")
        ready.put(str(folder.path))
        time.sleep(600)

    ready = FORK.Queue()
    process = FORK.Process(target=hold, args=(ready,), daemon=True)
    process.start()
    folder = Path(ready.get(timeout=30))
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=30)
    return folder


def _housekeeping(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "housekeeping"],
        cwd=ROOT,
        env={**os.environ, "PORTAL_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_while_a_server_runs_only_what_ended_processes_left_goes(app) -> None:
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    app.extensions["portal_sweeper"].set()
    root = storage.tmp_root(data_dir, host_temp_dir(data_dir))
    dead = _dead_workers_folder(root)
    live = storage.WorkFolder(root)  # a request in progress here
    unfiled = storage.submission_dir(data_dir, "0" * 32)
    unfiled.mkdir()
    result = _housekeeping(data_dir)  # another process, as the timer runs it
    assert result.returncode == 0, result.stderr
    assert "servers running" in result.stdout and "removed 1 temporary" in result.stdout
    assert not dead.exists()
    assert live.path.exists() and unfiled.exists()  # the server may be about to file it
    live.remove()


def test_with_no_server_everything_left_over_goes(tmp_path: Path) -> None:
    from portal import create_app
    from portal.config import Settings

    data_dir = tmp_path / "data"
    server = create_app(Settings(data_dir=data_dir, secret_key="k"))
    server.extensions["portal_sweeper"].set()
    server.extensions["portal_storage_lock"].close()  # the server has stopped
    dead = _dead_workers_folder(storage.tmp_root(data_dir, host_temp_dir(data_dir)))
    unfiled = storage.submission_dir(data_dir, "0" * 32)
    unfiled.mkdir()
    long_ago = time.time() - Settings(data_dir=data_dir).csrf_time_limit - 60
    os.utime(unfiled, (long_ago, long_ago))
    # Untouched for less than a form's lifetime: maybe another host's, about to be filed.
    fresh = storage.submission_dir(data_dir, "1" * 32)
    fresh.mkdir()
    result = _housekeeping(data_dir)
    assert result.returncode == 0, result.stderr
    assert "no server running" in result.stdout
    assert not dead.exists() and not unfiled.exists()
    assert fresh.exists()
