"""A bound on how many phrase derivations run at once.

Each check of a follow-up phrase costs one Argon2id (memory and a fraction of a
second of CPU), so unbounded guessing would be a cheap way to exhaust the server.
:class:`Slots` allows at most ``count`` at once: ``count`` lock files under the data
folder, each held with ``flock`` for the length of one derivation. The lock is taken
per open file, so the bound holds across threads of one process, across gunicorn
workers and across processes serving the same data folder (several hosts sharing it
over a network filesystem share one bound; hosts with their own data folders each
have their own). A process that dies releases its slot with its files. Nothing is
recorded about who asked: a request that finds every slot taken, after a short
wait, is refused (a polite 429 page), whoever sent it.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: how often a waiting request looks for a free slot again, in seconds
POLL = 0.05


class Busy(Exception):
    """Every slot stayed taken for as long as the caller was willing to wait."""


class Slots:
    def __init__(self, folder: Path, count: int) -> None:
        self.folder = Path(folder)
        self.count = count

    def _paths(self) -> list[Path]:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return [self.folder / f"slot-{number}" for number in range(self.count)]

    def _try_each(self) -> int | None:
        paths = self._paths()
        random.shuffle(paths)  # spread the holders; not a secret
        for path in paths:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    @contextmanager
    def hold(self, wait: float = 0.0) -> Iterator[None]:
        """Hold a slot for the ``with`` block; raises :class:`Busy` when none frees up
        within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        fd = self._try_each()
        while fd is None:
            if time.monotonic() >= deadline:
                raise Busy()
            time.sleep(POLL)
            fd = self._try_each()
        try:
            yield
        finally:
            os.close(fd)  # releases the lock
