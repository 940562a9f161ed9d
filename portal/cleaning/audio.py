"""The audio family: MP3, M4A/AAC, Ogg (Vorbis, Opus, FLAC), FLAC and WAV.

Recognises the container by its bytes (MP3 only from a chain of valid frames, so
random bytes are not taken for audio) and remuxes the audio packets into a fresh
file of the same format (see :mod:`portal.cleaning.media`). Tags of every kind and
embedded cover pictures are left behind.
"""

from __future__ import annotations

from portal.cleaning import media


class AudioCleaner(media.MediaCleaner):
    family = "audio"
    containers = media.AUDIO_CONTAINERS


CLEANER = AudioCleaner()
