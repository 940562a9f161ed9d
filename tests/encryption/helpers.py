"""Helpers of the encryption tests: everything on disk as one haystack, runs of a
file's bytes to look for in it, and files of noise whose bytes no other file shares."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

from PIL import Image

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


def noise_jpeg(width: int = 96, height: int = 64) -> bytes:
    """A photo of noise: its cleaned bytes occur nowhere else on disk."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def noise_wav(seconds: int = 1) -> bytes:
    """``seconds`` of random 8 kHz sound (16,000 bytes a second)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(os.urandom(16000 * seconds))
    return out.getvalue()
