"""Helpers of the encryption tests: everything on disk as one haystack, and runs of
a file's bytes to look for in it."""

from __future__ import annotations

from pathlib import Path

#: length of each run of a cleaned file's bytes searched for on disk
RUN = 48


def every_byte_under(folder: Path) -> bytes:
    """Every file under ``folder`` (database, journal, secret key, files), joined."""
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def runs_of(data: bytes, count: int = 4) -> list[bytes]:
    """A few runs of ``data``, from its start, middle and end (skipping headers that
    many files share, such as a JPEG's first bytes)."""
    if len(data) <= RUN:
        return [data]
    step = max(1, (len(data) - RUN) // count)
    return [data[i : i + RUN] for i in range(len(data) // 4, len(data) - RUN, step)][:count]
