"""Upload benchmark: one large file through gunicorn, memory and speed.

Starts gunicorn on 127.0.0.1 (a free port, a data folder in a temporary directory,
two sync workers), fetches the form, then POSTs a generated file (random bytes: the
whole upload path runs, streaming to disk under tmp/, and the cleaner then refuses
the unknown bytes quickly; the note is filed). Meanwhile every worker's RSS is sampled
with psutil. Then the same bytes are sent over a plain loopback socket to a receiver
process, once discarding them and once writing them to a file, and the portal's
throughput is printed as a ratio of both.

With ``--video`` the file is a real MP4 of about that size (ffmpeg: a few seconds of
noise looped with stream copy), so the cleaner remuxes all of it inside the request
and the memory figure covers cleaning a large video too, not only receiving it.

    /work/venv/bin/python bench/upload.py [--size-mb 1024] [--workers 2] [--video]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
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
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MB = 1000 * 1000
CHUNK = 1024 * 1024

RECEIVER = r"""
import socket, sys
port_file, total, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
open(port_file, "w").write(str(srv.getsockname()[1]))
conn, _ = srv.accept()
buf = bytearray(1024 * 1024); view = memoryview(buf); got = 0
out = open(target, "wb", buffering=0) if target != "-" else None
while got < total:
    n = conn.recv_into(buf)
    if not n:
        break
    if out:
        out.write(view[:n])
    got += n
if out:
    out.close()
conn.sendall(b"ok"); conn.close()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.1)


class RssSampler(threading.Thread):
    """Samples the RSS of the given processes until stopped; keeps each one's peak."""

    def __init__(self, processes: list[psutil.Process], interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.interval = interval
        self.peak = {p.pid: p.memory_info().rss for p in processes}
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for p in self.processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.peak[p.pid] = max(self.peak[p.pid], p.memory_info().rss)
            time.sleep(self.interval)

    def stop(self) -> dict[int, int]:
        self.stop_event.set()
        self.join()
        return self.peak


def make_source(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        remaining = size
        while remaining:
            n = min(CHUNK * 16, remaining)
            fh.write(os.urandom(n))
            remaining -= n


def make_video(path: Path, size: int) -> None:
    """An MP4 of at least ``size`` bytes: 4 s of 720p noise, looped by stream copy."""
    clip = path.with_name("clip.mp4")
    noise = "nullsrc=s=1280x720:r=30,geq=random(1)*255:128:128"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", noise, "-t", "4",
         "-c:v", "mpeg4", "-q:v", "1", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    loops = max(0, -(-size // clip.stat().st_size) - 1)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(clip),
         "-c", "copy", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    clip.unlink()


def get_form(port: int) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/en/")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.close()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return token, cookie


def post_file(
    port: int, token: str, cookie: str, source: Path, filename: str = "big.bin"
) -> tuple[int, float, str]:
    boundary = "----bench" + secrets.token_hex(8)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nbenchmark\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + source.stat().st_size + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    conn.putrequest("POST", "/en/")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    conn.send(head)
    with open(source, "rb") as fh:
        while chunk := fh.read(CHUNK):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    page = response.read().decode()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, elapsed, page


def raw_copy(source: Path, workdir: Path, to_disk: bool) -> float:
    """Seconds to send ``source`` over a loopback socket to a receiver process."""
    port_file = workdir / "raw.port"
    port_file.unlink(missing_ok=True)
    target = str(workdir / "raw.copy") if to_disk else "-"
    size = source.stat().st_size
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port_file), str(size), target])
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.01)
    port = int(port_file.read_text())
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.perf_counter()
        with open(source, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sock.sendall(chunk)
        assert sock.recv(2) == b"ok"
        elapsed = time.perf_counter() - start
    receiver.wait(timeout=60)
    (workdir / "raw.copy").unlink(missing_ok=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--video", action="store_true", help="send a real MP4 to be cleaned")
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024

    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    try:
        if args.video:
            source = workdir / "source.mp4"
            print(f"generating an MP4 of about {args.size_mb} MiB ...", flush=True)
            make_video(source, size)
            size = source.stat().st_size
        else:
            source = workdir / "source.bin"
            print(f"generating {args.size_mb} MiB of random bytes ...", flush=True)
            make_source(source, size)

        small = workdir / "warmup.bin"
        make_source(small, CHUNK)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PORTAL_DATA_DIR": str(workdir / "data"),
            "PORTAL_MAX_FILE_SIZE": str(size + CHUNK),
            "PORTAL_MAX_SUBMISSION_SIZE": str(size + 2 * CHUNK),
        }
        # Create the tables once, as a deployment would: workers starting together on
        # an empty SQLite file would race to create them.
        subprocess.run(
            [sys.executable, "-c", "from portal import create_app; create_app()"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--bind", f"127.0.0.1:{port}",
                "--workers", str(args.workers),
                "--timeout", "600",
                "--log-level", "warning",
                "portal:create_app()",
            ],
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        try:
            wait_for_port(port, server)
            master = psutil.Process(server.pid)
            token, cookie = get_form(port)
            # Warm every worker up (first requests import the cleaner's modules).
            for _ in range(args.workers * 3):
                post_file(port, *get_form(port), small)
            workers = master.children()
            baseline = {p.pid: p.memory_info().rss for p in workers}
            sampler = RssSampler(workers)
            sampler.start()
            status, elapsed, page = post_file(port, token, cookie, source, source.name)
            peaks = sampler.stop()
        finally:
            server.terminate()
            server.wait(timeout=30)
        expected = "File 1: video (MP4)" if args.video else "not accepted"
        if status != 200 or expected not in page:
            print(page)
            raise SystemExit(f"unexpected response {status}")
        leftovers = list((workdir / "data" / "tmp").iterdir())

        increase = max(peaks[pid] - baseline[pid] for pid in baseline)
        portal_rate = size / elapsed
        raw_discard = size / raw_copy(source, workdir, to_disk=False)
        raw_disk = size / raw_copy(source, workdir, to_disk=True)

        what = "MP4, cleaned" if args.video else "random bytes, refused"
        print(f"upload size:                {size / MB:,.0f} MB ({what})")
        baselines = ", ".join(f"{b / MB:.0f}" for b in baseline.values())
        print(f"worker peak RSS increase:   {increase / MB:,.1f} MB (baselines {baselines} MB)")
        print(f"portal upload throughput:   {portal_rate / MB:,.0f} MB/s ({elapsed:.2f} s)")
        print(f"raw loopback, discarded:    {raw_discard / MB:,.0f} MB/s")
        print(f"raw loopback, to disk:      {raw_disk / MB:,.0f} MB/s")
        print(f"ratio portal/raw discarded: {portal_rate / raw_discard:.2f}")
        print(f"ratio portal/raw to disk:   {portal_rate / raw_disk:.2f}")
        print(f"files left under tmp/:      {len(leftovers)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
