"""The video family: MP4, MOV, M4V, 3GP, Matroska/WebM, AVI and WMV/ASF.

Recognises the container by its bytes and remuxes the audio and video packets into
a fresh container of the same family (see :mod:`portal.cleaning.media`). A video
container that turns out to hold only audio is cleaned the same way and reported as
audio.
"""

from __future__ import annotations

from pathlib import Path

from portal.cleaning import media
from portal.cleaning.base import Category, Cleaned, FormatCleaner, Limits, Refusal, RefusalCode


class VideoCleaner(FormatCleaner):
    family = "video"

    def sniff(self, head: bytes, path: Path) -> bool:
        return media.sniff_container(head, path) in media.VIDEO_CONTAINERS

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        return media.inspect_media(src, _container(src), limits)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        return media.remux(src, dst, _container(src), limits)


def _container(src: Path) -> str:
    with open(src, "rb") as fh:
        head = fh.read(4096)
    container = media.sniff_container(head, src)
    if container not in media.VIDEO_CONTAINERS:
        raise Refusal(RefusalCode.UNKNOWN_TYPE, "not a video container")
    return container


CLEANER = VideoCleaner()
