"""Benchmark: what encryption at rest costs, against the same work without it.

    .venv/bin/python bench/encryption.py [--video-mb 1024] [--notes 10000] [--download-mb 1024]

1. Filing a big video: the file step of filing as main did it before encryption
   (clean into the staging folder, fsynced) against what filing does now
   (``portal.public.filing.clean_encrypted``: the muxer writes the plaintext into
   tmp/ while a helper process seals it into staging/ behind it; see
   portal/crypto/streaming.py), with tmp/ on the data disk and on a tmpfs (what the
   README advises for PORTAL_TMP_DIR). Beside them, for reference, cleaning into tmp/
   and encrypting the finished plaintext after, as filing does for documents and
   images. The video is the ~1 GB H.264/AAC MP4 of bench/clean.py. Best of
   ``--repeat`` runs each, alternated; the ratio is against the first line (target:
   at most 1.10).
2. Search: ``GET /inbox/?q=…`` over ``--notes`` sealed notes for a signed-in editor
   (every note decrypted in memory), against the same list without a query (one SQL
   page, 25 notes decrypted). Seconds (target: at most 1 s) and the ratio.
3. Download: a ``--download-mb`` file served by gunicorn (one worker) on loopback and
   read by a client that discards it: MB/s (target: at least 200) and the worker's
   peak memory rise; the peer is reading the same age file from disk in this process
   (no decryption, no HTTP). Then a range request for the last MiB, as a player
   seeking to the end does: it decrypts only the chunks it needs.

Everything lives in one temporary folder, deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pyotp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from argon2 import PasswordHasher  # noqa: E402

from portal import create_app, storage  # noqa: E402
from portal.cleaning import Limits, clean_file, registry  # noqa: E402
from portal.config import Settings  # noqa: E402
from portal.crypto import age  # noqa: E402
from portal.crypto.files import encrypt_file  # noqa: E402
from portal.crypto.keyring import Content, current_key  # noqa: E402
from portal.inbox import accounts, credentials  # noqa: E402
from portal.models import StoredFile, Submission, db, new_id  # noqa: E402
from portal.public.filing import clean_encrypted  # noqa: E402

PASSWORD = "benchmark passphrase, long enough"  # noqa: S105
WORDS = ("camioneta", "blanca", "frente", "bodega", "placas", "estado", "hombres", "armados")


def _bench_clean_module():
    spec = importlib.util.spec_from_file_location("bench_clean", REPO / "bench" / "clean.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --- 1. filing a big video ---------------------------------------------------------------


def file_plain(video: Path, staging: Path) -> None:
    clean_file(video, staging / new_id())


def file_encrypted(video: Path, staging: Path, work: Path, recipient: age.Recipient) -> None:
    """The file step of filing now (``portal.public.filing.clean_encrypted``)."""
    plain = work / new_id()
    try:
        clean_encrypted(video, plain, staging / f"{new_id()}.age", recipient, Limits())
    finally:
        plain.unlink(missing_ok=True)


def encrypt_after(video: Path, staging: Path, work: Path, recipient: age.Recipient) -> None:
    """Clean into tmp, then encrypt the finished plaintext: what filing does for the
    families that write their output themselves (documents, images)."""
    plain = work / new_id()
    try:
        clean_file(video, plain, durable=False)
        encrypt_file(plain, staging / f"{new_id()}.age", recipient)
    finally:
        plain.unlink(missing_ok=True)


def filing(folder: Path, megabytes: int, repeat: int) -> None:
    video = _bench_clean_module().make_big_video(folder, megabytes)
    size = video.stat().st_size / 1e6
    recipient = age.Identity.generate().recipient
    registry.load_all()
    staging = folder / "staging"
    works = {"tmp on the data disk": folder / "work"}
    if Path("/dev/shm").is_dir():
        works["tmp on a tmpfs"] = Path(tempfile.mkdtemp(dir="/dev/shm"))
    runs: dict[str, tuple[Callable[..., None], Path | None]] = {
        "without encryption (main before it)": (file_plain, None),
        "encrypted after cleaning, tmp on the data disk": (
            encrypt_after,
            works["tmp on the data disk"],
        ),
    }
    for name, work in works.items():
        runs[f"filing now, {name}"] = (file_encrypted, work)
    times: dict[str, list[float]] = {kind: [] for kind in runs}
    for _ in range(repeat):
        for kind, (run, work) in runs.items():
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            subprocess.run(["sync"], check=True)
            start = time.perf_counter()
            if work is None:
                run(video, staging)
            else:
                work.mkdir(exist_ok=True)
                run(video, staging, work, recipient)
            times[kind].append(time.perf_counter() - start)
    plain = min(next(iter(times.values())))
    print(f"1. filing a {size:.0f} MB video (best of {repeat}, alternated):")
    for kind in runs:
        took = min(times[kind])
        target = " (target <= 1.10)" if kind.startswith("filing now") else ""
        print(
            f"   {kind:47} {took:6.2f} s  ({size / took:5.0f} MB/s)"
            f"  ratio {took / plain:.3f}{target}"
        )
    for work in works.values():
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    video.unlink()


# --- 2. search ---------------------------------------------------------------------------


def _fast_passwords(app) -> None:
    app.extensions["portal_passwords"] = credentials.PasswordPolicy(
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _sign_in(client, name: str, secret: str) -> None:
    page = client.get("/inbox/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {"csrf_token": token, "name": name, "password": PASSWORD,
            "code": pyotp.TOTP(secret).now()}  # fmt: skip
    assert client.post("/inbox/login", data=data).status_code == 302


def search(folder: Path, count: int, repeat: int) -> None:
    app = create_app(Settings(data_dir=folder / "search", database_url="sqlite://"))
    _fast_passwords(app)
    rng = secrets.SystemRandom()
    with app.app_context():
        new, _ = accounts.create_inbox("ana", PASSWORD)
        key_id, recipient = current_key()
        for number in range(count):
            note = " ".join(rng.choice(WORDS) for _ in range(60)) + f" nota {number}"
            db.session.add(
                Submission(
                    id=new_id(), locale="es", key_id=key_id, sealed=Content(note).seal(recipient)
                )
            )
        db.session.commit()
    client = app.test_client()
    _sign_in(client, "ana", new.totp_secret)

    def timed(query: str, times: int) -> list[float]:
        took = []
        for _ in range(times):
            start = time.perf_counter()
            response = client.get("/inbox/", query_string={"q": query} if query else None)
            took.append(time.perf_counter() - start)
            assert response.status_code == 200
        return took

    plain_list = min(timed("", repeat))
    first, *later = timed(f"nota {count - 1}", repeat + 1)
    searched = min(later)
    print(f"2. search over {count} sealed notes:")
    print(f"   list without a query             {plain_list * 1000:7.1f} ms (best of {repeat})")
    print(f"   first search (opens every note)  {first * 1000:7.1f} ms")
    print(f"   later searches (search index)    {searched * 1000:7.1f} ms (best of {repeat})")
    print(f"   ratio of a later search to the list {searched / plain_list:.1f} (target <= 1000 ms)")
    app.extensions["portal_storage_lock"].close()


# --- 3. download -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(port: int, method: str, path: str, cookie: str = "", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sent = {"Cookie": cookie, **(headers or {})}
    if body is not None:
        body = urlencode(body)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=sent)
    return conn, conn.getresponse()


def download(folder: Path, megabytes: int) -> None:
    data_dir = folder / "download"
    app = create_app(Settings(data_dir=data_dir, secret_key="bench"))  # noqa: S106
    with app.app_context():
        new, _ = accounts.create_inbox("ana", PASSWORD)
        key_id, recipient = current_key()
        submission = Submission(id=new_id(), locale="es", key_id=key_id,
                                sealed=Content("big").seal(recipient))  # fmt: skip
        target = storage.submission_dir(data_dir, submission.id)
        target.mkdir(mode=0o700)
        plain = folder / "plain.bin"
        with plain.open("wb") as fh:
            for _ in range(megabytes):
                fh.write(os.urandom(1024 * 1024))
        file_id = new_id()
        size = encrypt_file(plain, target / f"{file_id}.age", recipient)
        plain.unlink()
        submission.files.append(
            StoredFile(
                id=file_id,
                position=1,
                stored_name=f"{file_id}.age",
                kind="video",
                format="MP4",
                mime="video/mp4",
                extension="mp4",
                size=size,
                key_id=key_id,
                removed=[],
            )
        )
        db.session.add(submission)
        db.session.commit()
        submission_id = submission.id
    app.extensions["portal_storage_lock"].close()

    stored = target / f"{file_id}.age"
    start = time.perf_counter()
    with stored.open("rb") as fh:
        while fh.read(1024 * 1024):
            pass
    disk = size / 1e6 / (time.perf_counter() - start)

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PORTAL_DATA_DIR": str(data_dir),
           "PORTAL_SECRET_KEY": "bench"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--timeout", "600", "--log-level", "error", "app:app"],
        cwd=REPO, env=env,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        _conn, response = _request(port, "GET", "/inbox/login")
        page = response.read().decode()
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {"csrf_token": token, "name": "ana", "password": PASSWORD,
                "code": pyotp.TOTP(new.totp_secret).now()}  # fmt: skip
        _conn, response = _request(port, "POST", "/inbox/login", cookie, form)
        response.read()
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        worker = psutil.Process(server.pid).children()[0]
        baseline = worker.memory_info().rss
        peak = baseline
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, worker.memory_info().rss)
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        url = f"/inbox/s/{submission_id}/f/{file_id}"
        start = time.perf_counter()
        _conn, response = _request(port, "GET", url, cookie)
        received = 0
        while piece := response.read(1024 * 1024):
            received += len(piece)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        assert received == size, (received, size)
        start = time.perf_counter()
        _conn, response = _request(
            port, "GET", url + "/inline", cookie, headers={"Range": f"bytes={size - 2**20}-"}
        )
        tail = response.read()
        seek_ms = (time.perf_counter() - start) * 1000
        assert response.status == 206 and len(tail) == 2**20
    finally:
        server.terminate()
        server.wait()
    rate = size / 1e6 / elapsed
    print(f"3. download of {size / 1e6:.0f} MB through gunicorn on loopback:")
    print(f"   {rate:6.0f} MB/s (target >= 200); worker memory +{(peak - baseline) / 2**20:.1f} MB")
    print(f"   peer: reading the age file from disk {disk:6.0f} MB/s; ratio {rate / disk:.2f}")
    print(f"   range request for the last MiB: {seek_ms:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video-mb", type=int, default=1024)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--download-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--skip", action="append", default=[], choices=["filing", "search", "download"]
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-encryption-") as tmp:
        folder = Path(tmp)
        if "filing" not in args.skip:
            filing(folder, args.video_mb, args.repeat)
        if "search" not in args.skip:
            search(folder, args.notes, args.repeat + 1)
        if "download" not in args.skip:
            download(folder, args.download_mb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
