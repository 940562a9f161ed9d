"""The audio family: MP3, M4A/AAC, Ogg (Vorbis, Opus, FLAC), FLAC and WAV.

Recognises the container by its bytes (MP3 only from a chain of valid frames, so
random bytes are not taken for audio) and remuxes the audio packets into a fresh
file of the same format (see :mod:`portal.cleaning.media`). Tags of every kind and
embedded cover pictures are left behind.
"""

from __future__ import annotations

from pathlib import Path

from portal.cleaning import media
from portal.cleaning.base import Category, Cleaned, FormatCleaner, Limits, Refusal, RefusalCode


class AudioCleaner(FormatCleaner):
    family = "audio"

    def sniff(self, head: bytes, path: Path) -> bool:
        return media.sniff_container(head, path) in media.AUDIO_CONTAINERS

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        return media.inspect_media(src, _container(src), limits)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        return media.remux(src, dst, _container(src), limits)


def _container(src: Path) -> str:
    with open(src, "rb") as fh:
        head = fh.read(4096)
    container = media.sniff_container(head, src)
    if container not in media.AUDIO_CONTAINERS:
        raise Refusal(RefusalCode.UNKNOWN_TYPE, "not an audio container")
    return container


CLEANER = AudioCleaner()
