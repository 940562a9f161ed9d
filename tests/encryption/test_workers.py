"""One editor's session served by several gunicorn workers on two "hosts" (two
gunicorn masters sharing the database and data folder, as two machines would): the
session works on all of them, and signing out on one ends it on the other."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pyotp

from portal.inbox import accounts
from tests.apps import MakeApp
from tests.public.helpers import post_tip

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a passphrase for workers"
NOTE = "WORKERS-CANARY-NOTE"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(data_dir: Path, database_url: str, port: int) -> Iterator[int]:
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "shared-by-every-host",
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "error", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/en/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def request(port: int, method: str, path: str, cookie: str = "", body: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie, "Accept-Language": "en"} if cookie else {"Accept-Language": "en"}
    data = None
    if body is not None:
        data = urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    text = response.read().decode()
    set_cookie = response.getheader("Set-Cookie") or ""
    return response.status, text, set_cookie.split(";")[0]


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_one_session_across_workers_and_hosts(tmp_path: Path, make_app: MakeApp) -> None:
    data_dir = tmp_path / "data"
    # The database the gunicorn workers will use (on SQLite a file in the data folder).
    app = make_app(
        data_dir=data_dir,
        persistent_database=True,
        inbox_key=False,
        secret_key="shared-by-every-host",
    )
    with app.app_context():
        new, _recovery = accounts.create_inbox("ana", PASSWORD)
    assert post_tip(app.test_client(), "en", note=NOTE).status_code == 200
    app.extensions["portal_storage_lock"].close()  # this process stops serving the folder

    with ExitStack() as stack:
        url = app.config["PORTAL_SETTINGS"].database_url
        host_a = stack.enter_context(gunicorn(data_dir, url, free_port()))
        host_b = stack.enter_context(gunicorn(data_dir, url, free_port()))
        status, page, cookie = request(host_a, "GET", "/inbox/login")
        form = {"csrf_token": csrf(page), "name": "ana", "password": PASSWORD,
                "code": pyotp.TOTP(new.totp_secret).now()}  # fmt: skip
        status, _page, cookie = request(host_a, "POST", "/inbox/login", cookie, form)
        assert status == 302 and cookie
        # Many requests over fresh connections: each host's two workers take turns.
        for round_ in range(8):
            for host in (host_a, host_b):
                status, page, _ = request(host, "GET", "/inbox/", cookie)
                assert status == 200 and NOTE in page, (round_, host)
        # Signing out on host B ends the session everywhere.
        status, page, updated = request(host_b, "GET", "/inbox/", cookie)
        cookie = updated or cookie  # the page's CSRF token lives in the session cookie
        status, _, _ = request(host_b, "POST", "/inbox/logout", cookie, {"csrf_token": csrf(page)})
        assert status == 302
        for host in (host_a, host_b):
            status, page, _ = request(host, "GET", "/inbox/", cookie)
            assert status == 302 and NOTE not in page
