"""No original outlives its worker, run as documented. Before, when the worker
holding an upload was killed (SIGKILL, the OOM killer), the uncleaned original,
GPS and all, stayed under tmp/ until a stale sweep six hours later. Here a large
upload is sent through nginx, the gunicorn worker receiving it is killed the moment
its file appears, and within 15 s nothing of that upload is left on disk."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil

from tests.production.attack import get_form, send_slowly
from tests.production.stack import Stack
from tests.public.helpers import files_under, host_temp_dir, multipart

MB = 1024 * 1024


def _upload_and_holder(stack: Stack, deadline: float) -> tuple[Path, int] | None:
    """The first upload file under tmp/ and the worker writing it."""
    tmp = host_temp_dir(stack.data_dir)
    while time.monotonic() < deadline:
        try:
            uploads = list(tmp.rglob("upload-*"))
        except FileNotFoundError:  # a request folder renamed or removed meanwhile
            continue
        for entry in uploads:
            for worker in stack.workers():
                try:
                    if any(f.path == str(entry) for f in worker.open_files()):
                        return entry, worker.pid
                except psutil.Error:
                    continue
        time.sleep(0.002)
    return None


def test_a_killed_workers_upload_is_gone_within_15_seconds(stack: Stack) -> None:
    tmp = host_temp_dir(stack.data_dir)
    token, cookie = get_form(stack.onion)
    body, ctype = multipart(
        [("csrf_token", token), ("note", "muere el proceso")],
        [("files", os.urandom(200 * MB), "grande.bin")],
    )
    outcome: dict[str, object] = {}

    def tipster() -> None:
        try:
            outcome["result"] = send_slowly(stack.onion, body, ctype, cookie, rate=10**10)
        except OSError as exc:
            outcome["result"] = exc

    sender = threading.Thread(target=tipster, daemon=True)
    sender.start()
    found = _upload_and_holder(stack, time.monotonic() + 120)
    assert found is not None, "the upload never reached a worker"
    upload, pid = found
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    sender.join(timeout=120)

    while time.monotonic() - killed_at < 15 and files_under(tmp):
        time.sleep(0.1)
    assert not upload.exists()
    assert files_under(tmp) == []
    # nginx's own copy of the body has no name, and its folder keeps nothing.
    assert files_under(stack.nginx_prefix / "body") == []
    # The tipster was told the portal failed (nginx's 502), not that it was filed.
    result = outcome["result"]
    assert isinstance(result, OSError) or result[0] >= 500, result  # type: ignore[index]
