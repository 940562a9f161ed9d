"""Slow clients never starve the portal, run as documented (README's gunicorn command
behind deploy/'s nginx). Before nginx, four connections sending nothing made every
request wait 15 s or more, and 80 stopped the portal: each held a sync worker for up
to gunicorn's hour-long timeout. Here 80 connections trickle headers or bodies at one
byte a second to the address Tor connects to, reconnecting whenever they are
dropped, while a visitor loads the form every 2 s and a tipster uploads a 500 kB
photo at 20 kB/s (25 s). The 10-second bound is functional: nginx answers the
visitor at once, or the visitor waits for an attacker's 20 s timeout."""

from __future__ import annotations

import threading
import time

from tests.production.attack import SlowLoris, photo, slow_upload, visit
from tests.production.stack import Stack
from tests.public.helpers import files_under

KB = 1000


def test_eighty_slow_connections_starve_no_one(stack: Stack) -> None:
    before = set(files_under(stack.data_dir / "submissions"))
    attack = SlowLoris(stack.onion, count=80).start()
    upload: dict[str, object] = {}

    def tipster() -> None:
        upload["result"] = slow_upload(stack.onion, photo(500_000), rate=20 * KB)

    try:
        time.sleep(3)  # let every attacking connection be established
        uploader = threading.Thread(target=tipster, daemon=True)
        uploader.start()
        waits = []
        while uploader.is_alive() and len(waits) < 40:
            waits.append(visit(stack.onion, timeout=30))
            uploader.join(timeout=2)
        uploader.join(timeout=300)
    finally:
        attack.stop()

    assert len(waits) >= 5  # the upload took long enough to be visited meanwhile
    # A visit takes hundredths of a second; a starved one would wait for a worker
    # until an attacker's 20 s header timeout. 10 s leaves room for a slow CI box.
    assert max(waits) < 10, waits
    status, page = upload["result"]  # type: ignore[misc]
    assert status == 200, page
    assert "foto (JPEG)" in page and "ubicación GPS" in page
    # The receipt is shown only once the cleaned file and the row are committed.
    filed = set(files_under(stack.data_dir / "submissions")) - before
    assert len(filed) == 2  # the cleaned photo and its thumbnail, in one new folder
    assert len({path.parent for path in filed}) == 1
