"""Several app hosts, one PostgreSQL and one data folder (docs/deployment.md): two
gunicorn masters started with README.md's production command, as two machines would
run it (each its own host name, so its own temporary folder and start-up lock), take
tips at the same time, and every tip is read back whole from the inbox side, with
no error on either host and no plaintext left behind."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.models import Submission, db
from tests.apps import MakeApp
from tests.inbox_keys import content_of, plaintext_of
from tests.production.attack import get_form
from tests.production.stack import ROOT, _wait_until_served, free_port, readme_production
from tests.public.helpers import files_under, multipart, png_bytes

#: tips each host receives, sent a few at a time to both hosts at once
TIPS_PER_HOST = 6
SECRET_KEY = "shared-by-every-host"


@contextmanager
def app_host(data_dir: Path, database_url: str, host: str, log: Path) -> Iterator[int]:
    """README.md's production command on a free loopback port, as host ``host``."""
    env_given, words = readme_production()
    env = {**os.environ, **env_given, "PYTHONPATH": str(ROOT)}
    env.update(
        PORTAL_DATA_DIR=str(data_dir),
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SECRET_KEY=SECRET_KEY,
        PORTAL_HOST_NAME=host,
        # two workers a host rather than four: two hosts on a test machine's cores
        GUNICORN_CMD_ARGS="--workers 2",
    )
    port = free_port()
    bind = words.index("--bind")
    words[bind + 1] = f"127.0.0.1:{port}"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *words[1:]],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_until_served(port, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def send_tip(port: int, note: str) -> tuple[int, str]:
    token, cookie = get_form(("127.0.0.1", port), lang="en")
    body, content_type = multipart(
        [("csrf_token", token), ("note", note)],
        [("files", png_bytes(colour="green"), "photo.png")],
        after=[("contact", ""), ("homepage", "")],
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(
        "POST", "/en/", body=body, headers={"Cookie": cookie, "Content-Type": content_type}
    )
    response = conn.getresponse()
    page = response.read().decode()
    conn.close()
    return response.status, page


@pytest.mark.postgresql_only("hosts share a PostgreSQL server; SQLite is one host's file")
def test_two_hosts_file_tips_at_once_and_every_tip_reads_back(
    tmp_path: Path, make_app: MakeApp
) -> None:
    data_dir = tmp_path / "data"
    # The inbox side: the installation's database (migrated), with the inbox key.
    inbox = make_app(
        data_dir=data_dir, persistent_database=True, secret_key=SECRET_KEY, host_name="inbox"
    )
    database_url = inbox.config["PORTAL_SETTINGS"].database_url
    inbox.extensions["portal_storage_lock"].close()  # it serves nothing in this test
    inbox.extensions["portal_sweeper"].set()

    with ExitStack() as stack:
        ports = {
            host: stack.enter_context(
                app_host(data_dir, database_url, host, tmp_path / f"{host}.log")
            )
            for host in ("host-a", "host-b")
        }
        notes = {  # alternating hosts: both take tips at the same time
            f"tip {number} through {host}": port
            for number in range(TIPS_PER_HOST)
            for host, port in ports.items()
        }
        with ThreadPoolExecutor(max_workers=6) as pool:
            sent = pool.map(lambda note: send_tip(notes[note], note), notes)
            answers = dict(zip(notes, sent, strict=True))
        for host, port in ports.items():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200, host
    failed = {note: status for note, (status, _page) in answers.items() if status != 200}
    assert failed == {}

    with inbox.app_context():
        submissions = list(db.session.scalars(select(Submission)))
        read = sorted(content_of(inbox, row).note for row in submissions)
        files = [plaintext_of(inbox, f) for row in submissions for f in row.first_files]
    assert read == sorted(notes)
    assert len(files) == len(notes) and all(f.startswith(b"\x89PNG") for f in files)
    # Each host worked in its own temporary folder, and left nothing there.
    assert {"host-a", "host-b"} <= {p.name for p in (data_dir / "tmp").iterdir()}
    assert files_under(data_dir / "tmp") == []
    assert files_under(data_dir / "staging") == []
    for host in ports:
        log = (tmp_path / f"{host}.log").read_text()
        assert '"POST /en/" 200' in log and "Traceback" not in log, log
