"""Clients for attacking a server on loopback: connections that trickle headers or
bodies one byte a second (and reconnect when the server drops them, as a
determined attacker would), a tipster uploading slowly, and an ordinary visitor.
Every loop is bounded in time and stops by itself."""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from dataclasses import dataclass, field

from PIL import Image

from tests.public.helpers import multipart, token_in

HALF_HEADERS = b"GET /es/ HTTP/1.1\r\nHost: tips.example.org\r\nUser-Agent: slow\r\n"
HALF_BODY = (
    b"POST /es/ HTTP/1.1\r\nHost: tips.example.org\r\n"
    b"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 10000000\r\n\r\n"
    b"--xyz\r\n"
)


@dataclass
class SlowLoris:
    """``count`` connections to ``address``, half of them sending headers and half a
    body, one byte a second each, until :meth:`stop` (or ``limit`` seconds)."""

    address: tuple[str, int]
    count: int = 80
    limit: float = 300
    reconnects: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SlowLoris:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _open(self, index: int) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall((HALF_HEADERS if index % 2 == 0 else HALF_BODY)[:-1])
        return sock

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit
        socks: list[socket.socket | None] = [None] * self.count
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for index in range(self.count):
                    try:
                        if socks[index] is None:
                            socks[index] = self._open(index)
                        else:
                            socks[index].send(b"a" if index % 2 else b"X")  # type: ignore[union-attr]
                    except OSError:
                        if socks[index] is not None:
                            socks[index].close()  # type: ignore[union-attr]
                            self.reconnects += 1
                        socks[index] = None
                self._stop.wait(1.0)
        finally:
            for sock in socks:
                if sock is not None:
                    sock.close()


def get_form(address: tuple[str, int], lang: str = "es", timeout: float = 30) -> tuple[str, str]:
    """(CSRF token, session cookie) from the form page."""
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    conn.request("GET", f"/{lang}/")
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200, page
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.close()
    return token_in(page), cookie


def visit(address: tuple[str, int], timeout: float = 30) -> float:
    """Seconds an ordinary visitor waits for the whole Spanish form page."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    conn.request("GET", "/es/")
    response = conn.getresponse()
    page = response.read()
    conn.close()
    assert response.status == 200 and b'<html lang="es' in page
    return time.monotonic() - started


def photo(size: int) -> bytes:
    """A JPEG of about ``size`` bytes (noise compresses badly) with a GPS tag."""
    side = 64
    while True:
        image = Image.effect_noise((side, side), 100).convert("RGB")
        exif = Image.Exif()
        exif[0x010F] = "MarkerCam"  # Make
        gps = {1: "N", 2: (19.0, 25.0, 57.0), 3: "W", 4: (99.0, 7.0, 59.0)}
        exif[0x8825] = gps
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95, exif=exif)
        if out.tell() >= size:
            return out.getvalue()
        side = int(side * 1.3)


def send_slowly(
    address: tuple[str, int],
    body: bytes,
    content_type: str,
    cookie: str,
    rate: int,
    lang: str = "es",
    timeout: float = 600,
) -> tuple[int, str]:
    """POST ``body`` at about ``rate`` bytes a second; (status, page)."""
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    conn.putrequest("POST", f"/{lang}/")
    conn.putheader("Cookie", cookie)
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    step = max(1, rate // 10)
    started = time.monotonic()
    for sent in range(0, len(body), step):
        conn.send(body[sent : sent + step])
        pause = started + (sent + step) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    response = conn.getresponse()
    page = response.read().decode()
    conn.close()
    return response.status, page


def slow_upload(address: tuple[str, int], data: bytes, rate: int) -> tuple[int, str]:
    token, cookie = get_form(address)
    body, ctype = multipart(
        [("csrf_token", token), ("note", "subida lenta por Tor")],
        [("files", data, "foto.jpg")],
        after=[("contact", ""), ("homepage", "")],
    )
    return send_slowly(address, body, ctype, cookie, rate)
