"""The video family: MP4, MOV, M4V, 3GP, Matroska/WebM, AVI and WMV/ASF.

Recognises the container by its bytes and remuxes the audio and video packets into
a fresh container of the same family (see :mod:`portal.cleaning.media`). A video
container that turns out to hold only audio is cleaned the same way and reported as
audio.
"""

from __future__ import annotations

from portal.cleaning import media


class VideoCleaner(media.MediaCleaner):
    family = "video"
    containers = media.VIDEO_CONTAINERS


CLEANER = VideoCleaner()
