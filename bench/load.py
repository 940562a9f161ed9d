"""Load benchmark: the documented production setup (README's gunicorn command behind
deploy/'s nginx, as tests/production runs it) under concurrent clients on loopback.

For the form page (GET /es/), a note-only submission (POST /es/, multipart as a
browser sends it, each one filed) and a static file served the same way (the
stylesheet, through nginx and gunicorn), with 1, 8 and 32 concurrent clients on
keep-alive connections for ``--seconds`` each: requests per second, median and 99th
percentile latency, errors, and requests per second as a ratio to the static file
at the same concurrency. Then a soak: form pages and submissions from 8 clients
for ``--soak-minutes`` (10 by default), with the memory (unique set size) of
gunicorn's and nginx's processes sampled every minute.

Everything runs on this machine (127.0.0.1) and stops by itself. The clients are
Python threads on the same cores as the server, so absolute numbers understate the
server; the ratios are what to compare between runs.

    .venv/bin/python bench/load.py [--seconds 10] [--soak-minutes 10]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.production.attack import get_form  # noqa: E402
from tests.production.stack import Stack, production_stack  # noqa: E402
from tests.public.helpers import multipart  # noqa: E402

MB = 1024 * 1024


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float | None) -> None:
        with self.lock:
            if seconds is None:
                self.errors += 1
            else:
                self.latencies.append(seconds)


class Client:
    """One visitor on a keep-alive connection to the onion listener."""

    def __init__(self, stack: Stack) -> None:
        self.address = stack.onion
        self.conn = http.client.HTTPConnection(*self.address, timeout=60)
        self.token, self.cookie = get_form(self.address)
        self.body, self.ctype = multipart(
            [("csrf_token", self.token), ("note", "nota de prueba de carga"), ("links", "")],
            [("files", b"", "")],  # the empty file part a browser sends
            after=[("contact", ""), ("homepage", "")],
        )

    def request(self, kind: str) -> bool:
        try:
            if kind == "post":
                headers = {"Cookie": self.cookie, "Content-Type": self.ctype}
                self.conn.request("POST", "/es/", body=self.body, headers=headers)
            else:
                path = "/static/css/portal.css" if kind == "static" else "/es/"
                self.conn.request("GET", path)
            response = self.conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        if not ok or response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection(*self.address, timeout=60)
        return ok

    def close(self) -> None:
        self.conn.close()


def run(stack: Stack, kinds: list[str], clients: int, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def visitor(offset: int) -> None:
        client = Client(stack)
        start.wait()
        turn = offset
        while time.monotonic() < deadline:
            kind = kinds[turn % len(kinds)]
            turn += 1
            began = time.monotonic()
            ok = client.request(kind)
            tally.add(time.monotonic() - began if ok else None)
        client.close()

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return tally


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def throughput(stack: Stack, seconds: float) -> None:
    print(f"\nThroughput ({seconds:g} s per cell, keep-alive clients through nginx)\n")
    print("| request | clients | requests | req/s | p50 ms | p99 ms | errors | ratio to static |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for clients in (1, 8, 32):
        rates: dict[str, float] = {}
        for kind in ("static", "form", "post"):
            tally = run(stack, [kind], clients, seconds)
            rate = len(tally.latencies) / seconds
            rates[kind] = rate
            ratio = rate / rates["static"] if rates["static"] else float("nan")
            label = {"static": "static file", "form": "form page", "post": "note-only tip"}[kind]
            print(
                f"| {label} | {clients} | {len(tally.latencies)} | {rate:.1f} | "
                f"{percentile(tally.latencies, 50) * 1000:.0f} | "
                f"{percentile(tally.latencies, 99) * 1000:.0f} | {tally.errors} | {ratio:.2f} |",
                flush=True,
            )


def soak(stack: Stack, minutes: int) -> None:
    print(f"\nSoak: form pages and note-only tips from 8 clients for {minutes} min\n")
    print(
        "| minute | requests so far | errors | p99 ms (that minute) "
        "| gunicorn+nginx memory MB (unique set) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(f"| 0 | 0 | 0 | - | {stack.memory() / MB:.1f} |", flush=True)
    total = errors = 0
    for minute in range(1, minutes + 1):
        tally = run(stack, ["form", "post"], 8, 60)
        total += len(tally.latencies)
        errors += tally.errors
        p99 = percentile(tally.latencies, 99) * 1000
        print(
            f"| {minute} | {total} | {errors} | {p99:.0f} | {stack.memory() / MB:.1f} |", flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each cell")
    parser.add_argument("--soak-minutes", type=int, default=10, help="0 skips the soak")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="portal-load-") as base,
        production_stack(Path(base)) as stack,
    ):
        print(
            f"gunicorn workers: {len(stack.workers())}; memory at start "
            f"{stack.memory() / MB:.1f} MB (gunicorn and nginx, all processes)"
        )
        throughput(stack, args.seconds)
        if args.soak_minutes > 0:
            soak(stack, args.soak_minutes)


if __name__ == "__main__":
    main()
