"""Nothing identifying a tipster is written anywhere: not the address, the browser,
the referring page or the file's name; checked through the test client and through
a real `flask run` server reached from a distinctive loopback address."""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apps import on_sqlite
from tests.inbox_keys import prepare_data_dir
from tests.production.stack import readme_production
from tests.public.helpers import files_under, multipart, post_tip, tagged_jpeg, token_in

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ADDRESS = "127.0.0.7"
USER_AGENT = "Mozilla/5.0 UA-MARKER-5b1e"
REFERRER = "https://referrer-marker-77c2.example/page"
FILE_NAME = "clientname-marker-93c4.jpg"
MARKERS = [SOURCE_ADDRESS, "UA-MARKER-5b1e", "referrer-marker-77c2", "clientname-marker-93c4"]


def _leaks_in_bytes(blob: bytes) -> list[str]:
    found = []
    for marker in MARKERS:
        for encoding in ("utf-8", "utf-16-le"):
            if marker.encode(encoding) in blob:
                found.append(f"{marker} ({encoding})")
    return found


def _leaks_under(folder: Path) -> dict[str, list[str]]:
    leaks = {}
    for path in files_under(folder):
        found = _leaks_in_bytes(path.read_bytes())
        if found:
            leaks[str(path.relative_to(folder))] = found
    return leaks


@pytest.mark.proves("no-ip-address", "no-browser", "no-referrer", "no-file-names")
def test_test_client_request_leaves_no_trace(make_app, tmp_path, caplog):
    # The database in a file under the data folder, so that it is searched too.
    app = make_app(persistent_database=True)
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    client.environ_base.update(
        REMOTE_ADDR=SOURCE_ADDRESS, HTTP_USER_AGENT=USER_AGENT, HTTP_REFERER=REFERRER
    )
    response = post_tip(client, "en", note="a note", files=[(tagged_jpeg(tmp_path), FILE_NAME)])
    assert response.status_code == 200
    assert _leaks_in_bytes(response.get_data()) == []  # not even shown back
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    assert len(files_under(data_dir / "submissions")) == 2  # the photo and its thumbnail
    if on_sqlite(app):
        assert (data_dir / "portal.sqlite3").is_file()  # searched with every other file
    assert _leaks_under(data_dir) == {}
    assert _leaks_in_bytes(caplog.text.encode()) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _serving(command: list[str], env: dict[str, str], port: int, log_path: Path) -> Iterator[None]:
    """Run ``command`` from the repository root, its output in ``log_path``, until the
    port answers; stop it (SIGTERM) on the way out."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def _served_env(data_dir: Path) -> dict[str, str]:
    prepare_data_dir(data_dir)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_SECRET_KEY": "served-test-key",
        "PORTAL_MAX_FILE_SIZE": "200000",
        "PORTAL_MAX_SUBMISSION_SIZE": "1000000",
        "PORTAL_MAX_FILES": "5",
        "FLASK_DEBUG": "0",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("served")
    data_dir = base / "data"
    port = _free_port()
    log_path = base / "server.log"
    command = [
        *(sys.executable, "-m", "flask", "--app", "portal", "run"),
        *("--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"),
    ]
    with _serving(command, _served_env(data_dir), port, log_path):
        yield {"port": port, "data_dir": data_dir, "log": log_path, "base": base}


def _connection(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(
        "127.0.0.1", server["port"], timeout=30, source_address=(SOURCE_ADDRESS, 0)
    )


def _get_form(server, lang="en") -> tuple[str, str]:
    conn = _connection(server)
    conn.request("GET", f"/{lang}/", headers={"User-Agent": USER_AGENT, "Referer": REFERRER})
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.close()
    return token_in(page), cookie


def _post(server, body: bytes, ctype: str, cookie: str, lang="en", length=None):
    conn = _connection(server)
    conn.putrequest("POST", f"/{lang}/")
    for name, value in {
        "User-Agent": USER_AGENT,
        "Referer": REFERRER,
        "Cookie": cookie,
        "Content-Type": ctype,
        "Content-Length": str(len(body) if length is None else length),
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    for start in range(0, len(body), 65536):
        conn.send(body[start : start + 65536])
    response = conn.getresponse()
    result = response.status, response.read().decode()
    conn.close()
    return result


@pytest.mark.proves("no-ip-address", "no-browser", "no-referrer", "no-file-names")
def test_real_server_from_a_marked_address_leaves_no_trace(server):
    token, cookie = _get_form(server)
    jpeg = tagged_jpeg(server["base"])
    body, ctype = multipart(
        [("csrf_token", token), ("note", "seen at the bridge"), ("links", "")],
        [("files", jpeg, FILE_NAME)],
        after=[("contact", ""), ("homepage", "")],
    )
    status, page = _post(server, body, ctype, cookie)
    assert status == 200, page
    assert "File 1: photo (JPEG)" in page and "GPS location" in page

    # and an over-limit upload, which the client must actually receive
    body, ctype = multipart([("csrf_token", token)], [("files", os.urandom(300_000), FILE_NAME)])
    status, page = _post(server, body, ctype, cookie)
    assert status == 413
    assert "200\u00a0kB" in page

    log = server["log"].read_bytes()  # stderr is line-buffered: every request is in
    assert b'"POST /en/ HTTP/1.1" 200' in log, log  # the request log is there...
    assert _leaks_in_bytes(log) == []  # ...without the address, browser or names
    data_dir = server["data_dir"]
    assert len(files_under(data_dir / "submissions")) == 2  # the photo and its thumbnail
    assert _leaks_under(data_dir) == {}
    assert files_under(data_dir / "tmp") == []


@pytest.mark.parametrize("size", [1_200_000, 1_900_000])
def test_real_server_client_receives_the_page_for_a_body_over_the_total(server, size):
    """Refused on its declared length before reading; drained so the reply arrives."""
    token, cookie = _get_form(server, "es")
    body, ctype = multipart([("csrf_token", token)], [("files", os.urandom(size), "x.bin")])
    status, page = _post(server, body, ctype, cookie, lang="es")
    assert status == 413
    assert '<html lang="es-MX"' in page and "1\u00a0MB" in page


def test_readme_gunicorn_command_logs_no_address(tmp_path):
    """Run README's production command from a marked address, with a good tip and a
    malformed request (gunicorn names the client's address when it warns about one)."""
    given, words = readme_production()
    env = {**_served_env(tmp_path / "data"), **given}
    assert env.pop("PORTAL_DATA_DIR") == "/srv/portal/data"
    env["PORTAL_DATA_DIR"] = str(tmp_path / "data")
    assert words[0] == ".venv/bin/gunicorn"
    port = _free_port()
    bind = words.index("--bind")
    assert words[bind + 1] == "127.0.0.1:8000"
    words[bind + 1] = f"127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", *words[1:]]
    served = {"port": port}
    log_path = tmp_path / "gunicorn.log"

    with _serving(command, env, port, log_path):
        token, cookie = _get_form(served)
        body, ctype = multipart(
            [("csrf_token", token), ("note", "seen at the bridge")],
            [("files", tagged_jpeg(tmp_path), FILE_NAME)],
        )
        status, page = _post(served, body, ctype, cookie)
        assert status == 200, page
        with socket.create_connection(
            ("127.0.0.1", port), timeout=10, source_address=(SOURCE_ADDRESS, 0)
        ) as sock:
            sock.sendall(b"NOT A REQUEST LINE\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400")

    log = log_path.read_bytes()
    assert b'"POST /en/" 200' in log, log  # the access log is on...
    assert _leaks_in_bytes(log) == [], log  # ...and names no one
    assert _leaks_under(tmp_path / "data") == {}
