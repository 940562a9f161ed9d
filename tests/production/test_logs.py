"""The documented setup names no client in any log, nginx's included: nginx writes
"client: <address>" into every request-level error line (a body over its limit, a
failed upstream, a full body folder...), so the portal's servers keep no error log
and no access log. Requests come from a marked loopback address, well-formed and
not."""

from __future__ import annotations

import http.client
import socket

from tests.production.attack import get_form
from tests.production.stack import Stack
from tests.public.helpers import files_under

MARKED = "127.0.0.7"


def _raw(stack: Stack, data: bytes) -> bytes:
    with socket.create_connection(stack.onion, timeout=30, source_address=(MARKED, 0)) as sock:
        sock.sendall(data)
        return sock.recv(200)


def test_no_client_address_in_any_log(stack: Stack) -> None:
    conn = http.client.HTTPConnection(*stack.onion, timeout=30, source_address=(MARKED, 0))
    conn.request("GET", "/es/?q=1", headers={"User-Agent": "UA-MARKER-9d1c"})
    assert conn.getresponse().status == 200
    conn.close()
    assert _raw(stack, b"NOT A REQUEST LINE\r\n\r\n").startswith(b"HTTP/1.1 400")
    # Declared larger than nginx's limit: refused at once, logged at "error" level.
    too_big = b"POST /es/ HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000\r\n\r\n"
    assert _raw(stack, too_big).startswith(b"HTTP/1.1 413")
    token, cookie = get_form(stack.onion)
    assert token and cookie
    logs = stack.logs()
    assert b"GET /es/" in logs  # gunicorn's access log is on...
    for marker in (MARKED.encode(), b"UA-MARKER-9d1c", b"q=1"):
        assert marker not in logs  # ...and names no one
    for path in files_under(stack.data_dir):
        assert MARKED.encode() not in path.read_bytes()
