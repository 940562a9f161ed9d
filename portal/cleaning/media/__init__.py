"""Audio and video: the ``video`` and ``audio`` families, recognised by their bytes.

Video: MP4, MOV, M4V, 3GP/3G2, Matroska/WebM, AVI and WMV/ASF. Audio: MP3,
M4A/AAC, Ogg (Vorbis, Opus, FLAC), FLAC, WAV and AMR speech (``#!AMR``,
``#!AMR-WB``). Both families do the same thing: recognise the
container by its bytes (MP3 only from a chain of valid frames, so random bytes are not
taken for audio), then remux the audio and video packets into a fresh container of the
same family without re-encoding (:mod:`.remux`). A video container that turns out to
hold only audio is cleaned the same way and reported as audio. A stream that cannot
be copied as it is (several AMR frames per 3GP sample, as old phones write them) is
repaired losslessly or, failing that, re-encoded, and the result says so
(:mod:`.repair`).

Sniffing reads bytes only; PyAV (FFmpeg's libraries) is imported by :mod:`.remux` when
a file is inspected or cleaned.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import ClassVar

from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    OutputFile,
    Refusal,
    RefusalCode,
    read_head,
)

# --------------------------------------------------------------------------- sniffing

#: Containers each family handles. The value names the FFmpeg demuxer to force.
VIDEO_CONTAINERS = {
    "isobmff": "mov",
    "quicktime": "mov",
    "matroska": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "asf": "asf",
}
AUDIO_CONTAINERS = {
    "m4a": "mov",
    "mp3": "mp3",
    "ogg": "ogg",
    "flac": "flac",
    "wav": "wav",
    "amr": "amr",
}

# ISO-BMFF major brands of still images (the heif family) and of audio (ours).
_IMAGE_BRANDS = {
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
    b"mif1", b"mif2", b"msf1", b"avif", b"avis", b"avci", b"avcs", b"jpeg",
    b"jpgs", b"vvic", b"vvis", b"j2ki", b"j2is", b"MiHE", b"MiHA", b"MiHB",
}  # fmt: skip
_AUDIO_BRANDS = {b"M4A ", b"M4B "}
# Major brands of video files (cameras, phones, encoders). Unknown major brands are
# accepted only if a compatible brand is one of the generic ISO/QuickTime ones.
_VIDEO_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"mp71", b"avc1", b"qt  ", b"M4V ", b"M4VH", b"M4VP", b"dash",
    b"msnv", b"MSNV", b"XAVC", b"f4v ", b"mmp4", b"CAEP", b"NDAS", b"kddi", b"mqt ",
}  # fmt: skip
_GENERIC_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"avc1"}
_QUICKTIME_FIRST_BOXES = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_MP3_FRAMES_REQUIRED = 4
_ID3_MAX_CHAIN = 4


#: The magic of AMR speech files (RFC 4867, section 5): narrowband, wideband.
AMR_MAGICS = (b"#!AMR\n", b"#!AMR-WB\n")


def sniff_container(head: bytes, path: Path) -> str | None:
    """The container ``head`` (the file's first bytes) starts, as a key of
    :data:`VIDEO_CONTAINERS` or :data:`AUDIO_CONTAINERS`, or None."""
    if head.startswith(AMR_MAGICS):
        return "amr"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if _ebml_doctype(head) == b"webm" else "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(_ASF_GUID):
        return "asf"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3"):
        return _sniff_after_id3(path)
    if _mpeg_frames_at(head, 0):
        return "mp3"
    if len(head) >= 8 and head[4:8] in _QUICKTIME_FIRST_BOXES:
        size = struct.unpack(">I", head[:4])[0]
        if size in (0, 1) or size >= 8:
            return "quicktime"
    return None


def _sniff_ftyp(head: bytes) -> str | None:
    size = struct.unpack(">I", head[:4])[0]
    if size < 16 or size > len(head) or size % 4:
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, size, 4)}
    if major in _IMAGE_BRANDS:
        return None
    if major in _AUDIO_BRANDS:
        return "m4a"
    if major in _VIDEO_BRANDS or major[:3] in (b"3gp", b"3g2", b"3ge", b"3gg", b"3gs"):
        return "isobmff"
    if compatible & _GENERIC_BRANDS and not compatible & _IMAGE_BRANDS:
        return "isobmff"
    return None


def _ebml_doctype(head: bytes) -> bytes:
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head) or not head[at + 2] & 0x80:
        return b""
    length = head[at + 2] & 0x7F
    return head[at + 3 : at + 3 + length]


def _sniff_after_id3(path: Path) -> str | None:
    """MP3 or FLAC behind one or more ID3v2 tags: look where the tags end."""
    try:
        with open(path, "rb") as fh:
            offset = 0
            for _ in range(_ID3_MAX_CHAIN):
                fh.seek(offset)
                header = fh.read(10)
                if len(header) < 10 or not header.startswith(b"ID3"):
                    break
                if any(b & 0x80 for b in header[6:10]):
                    return None  # not a synchsafe size
                size = 0
                for b in header[6:10]:
                    size = (size << 7) | b
                offset += 10 + size + (10 if header[5] & 0x10 else 0)
            fh.seek(offset)
            window = fh.read(16384)
    except OSError:
        return None
    if window.startswith(b"fLaC"):
        return "flac"
    return "mp3" if _mpeg_frames_at(window, 0) else None


_MPEG_BITRATES = {  # kbit/s for Layer III, by MPEG-1 / MPEG-2(.5)
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(data: bytes, at: int) -> tuple[int, tuple[int, int, int]] | None:
    """Length and (version, layer, rate index) of a Layer III frame at ``at``."""
    if at + 4 > len(data):
        return None
    b1, b2, b3 = data[at + 1], data[at + 2], data[at + 3]
    if data[at] != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    if b3 & 3 == 2:  # reserved emphasis
        return None
    bitrate = _MPEG_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    length = (144 if version == 3 else 72) * bitrate // rate + padding
    return length, (version, layer, rate_index)


def _mpeg_frames_at(data: bytes, at: int) -> bool:
    """Whether several consecutive, consistent MPEG Layer III frames start at ``at``.
    One frame sync is common in random bytes; a chain of them is not."""
    kind = None
    for _ in range(_MP3_FRAMES_REQUIRED):
        frame = _mpeg_frame(data, at)
        if frame is None or (kind is not None and frame[1] != kind):
            return False
        kind = frame[1]
        at += frame[0]
    return True


# -------------------------------------------------------------------- the families


class MediaCleaner(FormatCleaner):
    """The video and audio families: each subclass names its family and the
    containers (keys of :data:`VIDEO_CONTAINERS` or :data:`AUDIO_CONTAINERS`) it
    handles."""

    containers: ClassVar[dict[str, str]] = {}

    def sniff(self, head: bytes, path: Path) -> bool:
        return sniff_container(head, path) in self.containers

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        from portal.cleaning.media import remux

        return remux.inspect_media(src, self._container(src), limits)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        from portal.cleaning.media import remux

        return remux.remux(src, dst, self._container(src), limits)

    writes_through = True

    def clean_through(
        self, src: Path, dst: Path, out: OutputFile, limits: Limits, depth: int
    ) -> Cleaned:
        from portal.cleaning.media import remux

        return remux.remux(src, dst, self._container(src), limits, out)

    def _container(self, src: Path) -> str:
        container = sniff_container(read_head(src), src)
        if container is None or container not in self.containers:
            raise Refusal(RefusalCode.UNKNOWN_TYPE, f"not a {self.family} container")
        return container


class VideoCleaner(MediaCleaner):
    family = "video"
    containers = VIDEO_CONTAINERS


class AudioCleaner(MediaCleaner):
    family = "audio"
    containers = AUDIO_CONTAINERS


VIDEO_CLEANER = VideoCleaner()
AUDIO_CLEANER = AudioCleaner()
