"""Remuxing audio and video with PyAV: copy the packets, leave everything else behind.

The container named by :func:`portal.cleaning.media.sniff_container` is opened with
PyAV (FFmpeg's libraries) forcing the demuxer that the bytes name, and the compressed
packets of the audio and video streams are copied into a fresh container without
re-encoding. Everything else is left behind: container and stream tags, chapters,
cover pictures, attachments, subtitle, data and timed-metadata tracks (GPS tracks,
face boxes). The muxer is run with ``fflags=+bitexact`` so it writes no encoder name,
version, random id or date of its own; the stream's display matrix (rotation) is
carried so the video still plays upright.

What is not touched: the compressed payload itself. Some encoders write their name
in the bitstream (x264 options in an SEI message, LAME's version in MP3 padding); the
packets are copied byte for byte, so that text stays.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import av.error
from av.container import InputContainer, OutputContainer
from av.stream import Disposition

from portal.cleaning.base import (
    Category,
    Cleaned,
    Kind,
    Limits,
    OutputFile,
    Refusal,
    RefusalCode,
    read_head,
)
from portal.cleaning.budget import Budget
from portal.cleaning.media import AUDIO_CONTAINERS, VIDEO_CONTAINERS
from portal.cleaning.media.repair import (
    AMR_FRAME_SIZES,
    Encoder,
    Treatment,
    alteration,
    amr_frames,
    next_treatment,
    split_amr,
)

# ---------------------------------------------------------------------- categories

_NEUTRAL_CONTAINER_TAGS = {"major_brand", "minor_version", "compatible_brands"}
# Matroska requires a writing application; in bitexact mode FFmpeg writes "Lavf".
_NEUTRAL_CONTAINER_VALUES = {"encoder": {"Lavf"}}
# What our own muxers write on every stream; identical on every output.
_NEUTRAL_STREAM_VALUES = {
    "language": {"und", ""},
    "handler_name": {"VideoHandler", "SoundHandler"},
    "vendor_id": {"[0][0][0][0]", "FFMP"},
}
_ZERO_TIMES = ("1904-01-01T00:00:00", "1970-01-01T00:00:00", "0000-00-00")

_KEY_CATEGORIES = (
    (("location", "xyz", "iso6709", "gps", "latitude", "longitude"), Category.GPS),
    (("make", "model", "manufacturer", "camera", "device", "vendor_id"), Category.MAKE_MODEL),
    (("serial", "identifier", "uuid", "uid"), Category.SERIAL),
    (("creation_time", "date", "year", "time", "tdrc", "tyer"), Category.DATES),
    (("encoder", "software", "tool", "writing", "version", "encoded_by"), Category.SOFTWARE),
    (
        ("artist", "author", "composer", "performer", "copyright", "publisher", "owner",
         "lyricist", "conductor", "creator", "album_artist"),
        Category.AUTHOR,
    ),
    (
        ("title", "comment", "description", "synopsis", "lyrics", "keywords", "subject",
         "caption", "note"),
        Category.COMMENT,
    ),
)  # fmt: skip


def _key_category(key: str) -> Category:
    name = key.lower().removeprefix("com.apple.quicktime.")
    for needles, category in _KEY_CATEGORIES:
        if any(needle in name for needle in needles):
            return category
    return Category.TAGS


def _is_zero_time(value: str) -> bool:
    return value.strip().startswith(_ZERO_TIMES) or value.strip("0:-TZ. ") == ""


def _tag_categories(tags: dict[str, str], *, stream: bool) -> set[Category]:
    found = set()
    for key, value in tags.items():
        lowered = key.lower()
        if not stream and lowered in _NEUTRAL_CONTAINER_TAGS:
            continue
        if not stream and value in _NEUTRAL_CONTAINER_VALUES.get(lowered, ()):
            continue
        if stream and value in _NEUTRAL_STREAM_VALUES.get(lowered, ()):
            continue
        if stream and lowered == "duration":  # Matroska's per-track length tag
            continue
        if lowered == "creation_time" and _is_zero_time(value):
            continue
        found.add(_key_category(key))
    return found


def _is_picture(stream: av.stream.Stream) -> bool:
    flags = Disposition.attached_pic | Disposition.timed_thumbnails
    return bool(stream.disposition & flags)


def _kept(stream: av.stream.Stream) -> bool:
    return stream.type in ("audio", "video") and not _is_picture(stream)


def _dropped_stream_categories(stream: av.stream.Stream) -> set[Category]:
    if _is_picture(stream):
        return {Category.THUMBNAIL}
    found = {Category.EMBEDDED}
    tag = (getattr(stream, "codec_tag", "") or "").lower()
    handler = stream.metadata.get("handler_name", "").lower()
    if tag in ("gpmd", "camm") or "gopro met" in handler or "gps" in handler:
        found.add(Category.GPS)
    return found


# ------------------------------------------------------------------------- opening


# Demuxer options per container. A WAV header says all there is to know about its
# one stream, but FFmpeg would still read and decode up to 5 MB of it to "find
# stream info" (25-35 ms for a 2 s clip, on each of the four times a file is opened).
_INPUT_OPTIONS = {"wav": {"probesize": "32"}}


def _open_input(src: Path, container: str, options: dict[str, str] | None = None) -> InputContainer:
    demuxer = VIDEO_CONTAINERS.get(container) or AUDIO_CONTAINERS[container]
    options = {**_INPUT_OPTIONS.get(container, {}), **(options or {})}
    try:
        return av.open(str(src), mode="r", format=demuxer, options=options)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise Refusal(RefusalCode.MALFORMED, f"{demuxer} demuxer: {type(exc).__name__}") from exc


def inspect_media(src: Path, container: str, limits: Limits) -> set[Category]:
    """The identifying metadata an audio or video file carries."""
    # The ISO-BMFF demuxer skips XMP boxes unless asked to export them as a tag.
    options = {"export_xmp": "1"} if container in ("isobmff", "quicktime", "m4a") else {}
    with _open_input(src, container, options) as inp:
        found = _tag_categories(dict(inp.metadata), stream=False)
        if "xmp" in inp.metadata:
            found.discard(Category.TAGS)
            found.add(Category.XMP)
        if inp.chapters():
            found.add(Category.EMBEDDED)
        if container in ("isobmff", "quicktime", "m4a"):
            found |= _iso_user_data_categories(src)
        for stream in inp.streams:
            found |= _tag_categories(dict(stream.metadata), stream=True)
            if not _kept(stream):
                found |= _dropped_stream_categories(stream)
        _kept_streams(inp, limits)
    return found


def _kept_streams(inp: InputContainer, limits: Limits) -> list[av.stream.Stream]:
    """The streams a clean copy keeps, after checking they can be kept."""
    kept = [stream for stream in inp.streams if _kept(stream)]
    if not kept:
        raise Refusal(RefusalCode.MALFORMED, "no audio or video stream")
    for stream in kept:
        if stream.codec_context is None or stream.codec_context.name in ("", "none"):
            raise Refusal(RefusalCode.MALFORMED, "stream with an unknown codec")
        if isinstance(stream, av.VideoStream):
            width, height = stream.codec_context.width, stream.codec_context.height
            if width <= 0 or height <= 0:
                raise Refusal(RefusalCode.MALFORMED, "video stream without dimensions")
            if width * height > limits.max_pixels:
                raise Refusal(RefusalCode.TOO_LARGE, f"{width}x{height} video")
    return kept


# ------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One way to write the cleaned copy: an FFmpeg muxer and what to call the result."""

    muxer: str
    format: str
    mime: str
    extension: str


_MP4 = Target("mp4", "MP4", "video/mp4", "mp4")
_MOV = Target("mov", "MOV", "video/quicktime", "mov")
_M4A = Target("ipod", "M4A", "audio/mp4", "m4a")
_M4A_GENERIC = Target("mp4", "M4A", "audio/mp4", "m4a")
_MOV_AUDIO = Target("mov", "MOV", "audio/quicktime", "mov")
_3GP = Target("3gp", "3GP", "video/3gpp", "3gp")
_3GP_AUDIO = Target("3gp", "3GP", "audio/3gpp", "3gp")
_AMR = Target("amr", "AMR", "audio/amr", "amr")
_AMR_WB = Target("amr", "AMR-WB", "audio/amr-wb", "awb")
_MKV = Target("matroska", "MKV", "video/x-matroska", "mkv")
_MKA = Target("matroska", "MKA", "audio/x-matroska", "mka")
_WEBM = Target("webm", "WEBM", "video/webm", "webm")
_WEBM_AUDIO = Target("webm", "WEBM", "audio/webm", "webm")
_AVI = Target("avi", "AVI", "video/x-msvideo", "avi")
_WMV = Target("asf", "WMV", "video/x-ms-wmv", "wmv")
_WMA = Target("asf", "WMA", "audio/x-ms-wma", "wma")
_MP3 = Target("mp3", "MP3", "audio/mpeg", "mp3")
_OGG = Target("ogg", "OGG", "audio/ogg", "ogg")
_OGV = Target("ogg", "OGG", "video/ogg", "ogv")
_OPUS = Target("opus", "OPUS", "audio/ogg", "opus")
_FLAC = Target("flac", "FLAC", "audio/flac", "flac")
_WAV = Target("wav", "WAV", "audio/wav", "wav")

# Muxer options beyond bitexact. MP3: no ID3 tag, and no Xing/LAME header, which
# would carry the muxer's name in its encoder field.
_MUXER_OPTIONS = {"mp3": {"id3v2_version": "0", "write_xing": "0"}}
# Muxers that rewrite Xiph comment headers themselves (with an empty comment list).
_XIPH_COMMENT_WRITERS = {"ogg", "opus"}
_ISO_MUXERS = {"mp4", "mov", "ipod", "3gp"}


def _targets(container: str, streams: list[av.stream.Stream]) -> list[Target]:
    has_video = any(stream.type == "video" for stream in streams)
    codecs = {stream.codec_context.name for stream in streams}
    if container in ("isobmff", "quicktime", "m4a"):
        # 3GP takes what phones record and MP4 does not (AMR speech).
        return [_MP4, _3GP, _MOV] if has_video else [_M4A, _M4A_GENERIC, _3GP_AUDIO, _MOV_AUDIO]
    if container == "amr":
        return [_AMR_WB] if codecs == {"amrwb"} else [_AMR]
    if container == "webm":
        return [_WEBM, _MKV] if has_video else [_WEBM_AUDIO, _MKA]
    if container == "matroska":
        return [_MKV] if has_video else [_MKA]
    if container == "ogg":
        if has_video:
            return [_OGV]
        return [_OPUS] if codecs == {"opus"} else [_OGG]
    return {
        "avi": [_AVI],
        "asf": [_WMV if has_video else _WMA],
        "mp3": [_MP3],
        "flac": [_FLAC],
        "wav": [_WAV],
    }[container]


# ------------------------------------------------------------------------ cleaning

# Packet side data that playback needs and that describes only the media. Anything
# else (Matroska BlockAdditions, metadata updates, producer reference times) is
# dropped by copying the packet without it.
_PACKET_SIDE_DATA_KEPT = {"new_extradata", "palette", "param_change", "skip_samples"}


class _StreamFailed(Exception):
    """The output would not take a stream as it was given (its codec, or a packet)."""

    def __init__(self, index: int, codec: str, reason: str, *, muxing: bool = False) -> None:
        super().__init__(f"{codec}: {reason}")
        self.index, self.codec, self.reason = index, codec, reason
        #: whether it failed while a packet was muxed (not when the stream was added)
        self.muxing = muxing


def remux(
    src: Path, dst: Path, container: str, limits: Limits, out: OutputFile | None = None
) -> Cleaned:
    """Copy the audio and video packets of ``src`` into a fresh container at ``dst``
    (written through ``out`` if given, a file opened on ``dst``); a stream that
    cannot be copied is repaired or re-encoded (:mod:`.repair`)."""
    _check_declared_size(src, container)
    removed = inspect_media(src, container, limits)
    budget = Budget(limits)
    plan: dict[int, Treatment] = {}
    while True:
        try:
            return _remux_with(src, dst, container, limits, removed, plan, budget, out=out)
        except _StreamFailed as failed:
            index = _culprit(src, dst, container, limits, plan, budget, failed)
            step = next_treatment(plan.get(index, Treatment.COPY), failed.codec)
            if step is None:
                detail = f"{failed.codec} cannot be written even re-encoded: {failed.reason}"
                raise Refusal(RefusalCode.CLEANING_FAILED, detail) from None
            plan[index] = step


def _culprit(
    src: Path,
    dst: Path,
    container: str,
    limits: Limits,
    plan: dict[int, Treatment],
    budget: Budget,
    failed: _StreamFailed,
) -> int:
    """The stream to treat differently after ``failed``. A muxer writes a packet
    when later ones arrive, maybe of another stream, so the stream that was being
    muxed may not be the one that failed: with several streams, each not yet
    re-encoded is written alone (audio first, the cheapest) until one fails."""
    if not failed.muxing:
        return failed.index
    with _open_input(src, container) as inp:
        kept = _kept_streams(inp, limits)
        order = sorted(
            (s.index for s in kept if plan.get(s.index, Treatment.COPY) < Treatment.ENCODE),
            key=lambda index: (inp.streams[index].type == "video", index),
        )
    if len(kept) == 1:
        return failed.index
    trial = dst.with_name(f"{dst.name}.trial")
    try:
        for index in order:
            try:
                _remux_with(src, trial, container, limits, set(), plan, budget, only=index)
            except _StreamFailed as alone:
                failed.codec = alone.codec
                return index
    finally:
        trial.unlink(missing_ok=True)
    return failed.index


def _remux_with(
    src: Path,
    dst: Path,
    container: str,
    limits: Limits,
    removed: set[Category],
    plan: dict[int, Treatment],
    budget: Budget,
    only: int | None = None,
    out: OutputFile | None = None,
) -> Cleaned:
    """One attempt at writing ``dst``, each stream treated as ``plan`` says (only
    the stream of index ``only``, if given)."""
    with _open_input(src, container) as inp:
        kept = [s for s in _kept_streams(inp, limits) if only is None or s.index == only]
        # Stream objects must not be touched once the input is closed.
        kind = Kind.VIDEO if any(stream.type == "video" for stream in kept) else Kind.AUDIO
        codecs = {stream.index: stream.codec_context.name for stream in kept}
        altered = frozenset(
            alteration(stream) for stream in kept if plan.get(stream.index) == Treatment.ENCODE
        )
        target, muxer, mapping, encoders = _open_output(dst, container, kept, plan, out)
        try:
            payload, ends = _copy_packets(inp, kept, mapping, encoders, codecs, plan, muxer, budget)
        finally:
            _close_quietly(muxer)
        if container in _DECLARED_LENGTH:
            _check_complete(kept, ends)
    if not payload:
        raise Refusal(RefusalCode.MALFORMED, "no media data in any stream")
    if target.muxer in _ISO_MUXERS:
        if out is None:
            with open(dst, "r+b") as fh:
                _blank_iso_user_data(fh)
        else:
            _blank_iso_user_data(out)
    return Cleaned(kind, target.format, target.mime, target.extension, frozenset(removed), altered)


# What FFmpeg writes to a Python file at a time (PyAV's default is 32 KiB).
_WRITE_BUFFER = 256 * 1024


def _open_output(
    dst: Path,
    container: str,
    kept: list[av.stream.Stream],
    plan: dict[int, Treatment],
    through: OutputFile | None = None,
) -> tuple[Target, OutputContainer, dict[int, av.stream.Stream], dict[int, Encoder]]:
    """Open the first target whose muxer accepts every kept stream (copied, or
    re-encoded as ``plan`` says), on ``dst`` or through the file ``through``. If
    none does, the stream the first target refused is the one that fails."""
    first_refused: _StreamFailed | None = None
    for target in _targets(container, kept):
        options = {"fflags": "+bitexact", **_MUXER_OPTIONS.get(target.muxer, {})}
        if through is None:
            out = av.open(str(dst), mode="w", format=target.muxer, container_options=options)
        else:
            through.seek(0)
            through.truncate(0)  # what an earlier attempt wrote goes, as a path open would
            # flush_packets=0: a full buffer at a time, not a call into Python per packet
            out = av.open(
                through,
                mode="w",
                format=target.muxer,
                options={"flush_packets": "0"},
                container_options=options,
                buffer_size=_WRITE_BUFFER,
            )
        mapping: dict[int, av.stream.Stream] = {}
        encoders: dict[int, Encoder] = {}
        try:
            for stream in kept:
                try:
                    if plan.get(stream.index) == Treatment.ENCODE:
                        encoders[stream.index] = Encoder(stream, out, target.muxer)
                        mapping[stream.index] = encoders[stream.index].stream
                        continue
                    copy = out.add_stream_from_template(stream)
                except (ValueError, av.error.FFmpegError) as exc:
                    # this muxer does not take the codec (or the encoder would not open)
                    name = stream.codec_context.name
                    first_refused = first_refused or _StreamFailed(
                        stream.index, name, f"{target.muxer} refuses it ({type(exc).__name__})"
                    )
                    raise
                extradata = _clean_extradata(stream, target.muxer)
                if extradata is not None:
                    copy.codec_context.extradata = extradata
                mapping[stream.index] = copy
        except (ValueError, av.error.FFmpegError):
            _close_quietly(out)
            continue
        except BaseException:
            _close_quietly(out)
            raise
        return target, out, mapping, encoders
    assert first_refused is not None
    raise first_refused


def _close_quietly(out: OutputContainer) -> None:
    with contextlib.suppress(av.error.FFmpegError):
        out.close()


def _copy_packets(
    inp: InputContainer,
    kept: list[av.stream.Stream],
    mapping: dict[int, av.stream.Stream],
    encoders: dict[int, Encoder],
    codecs: dict[int, str],
    plan: dict[int, Treatment],
    out: OutputContainer,
    budget: Budget,
) -> tuple[int, dict[int, int]]:
    """Mux every packet of the kept streams, each as ``plan`` says. Returns the
    number of payload bytes written and, per stream index, where its last input
    packet ended (in its time base). A demuxing or decoding error is the file's
    (malformed); a muxing error is the output's (:class:`_StreamFailed`)."""
    payload = 0
    ends: dict[int, int] = {}

    def write(index: int, packets: list[av.Packet]) -> None:
        nonlocal payload
        for packet in packets:
            if index not in encoders:
                packet = _without_foreign_side_data(packet)
            packet.stream = mapping[index]
            try:
                out.mux(packet)
            except av.error.FFmpegError as exc:
                reason = type(exc).__name__
                raise _StreamFailed(index, codecs[index], reason, muxing=True) from exc
            payload += packet.size

    try:
        for packet in inp.demux(kept):
            if packet.size == 0:  # end-of-stream marker from the demuxer
                continue
            if packet.is_corrupt:
                raise Refusal(RefusalCode.MALFORMED, "corrupt or truncated packet")
            index = packet.stream_index
            if packet.pts is not None and packet.duration:
                end = packet.pts + packet.duration
                ends[index] = max(end, ends.get(index, end))
            treatment = plan.get(index, Treatment.COPY)
            if treatment == Treatment.ENCODE:
                write(index, encoders[index].encode(packet, budget))
            elif treatment == Treatment.REPACK:
                write(index, split_amr(packet, codecs[index]))
            else:
                if codecs[index] in AMR_FRAME_SIZES:
                    amr_frames(bytes(packet), codecs[index])  # speech, not any bytes
                write(index, [packet])
        for index, encoder in encoders.items():
            write(index, encoder.flush(budget))
    except av.error.FFmpegError as exc:
        raise Refusal(RefusalCode.MALFORMED, f"remux: {type(exc).__name__}") from exc
    return payload, ends


# Containers whose header states the exact length of the audio (FLAC's STREAMINFO
# sample count, WAV's data chunk size): a shorter stream means a truncated file.
# Other formats are streams by design (MP3, Ogg) or fail on their own when cut (MP4
# sample tables point past the end; Matroska elements end early).
_DECLARED_LENGTH = {"flac", "wav"}


def _check_complete(kept: list[av.stream.Stream], ends: dict[int, int]) -> None:
    for stream in kept:
        if stream.duration and ends.get(stream.index, 0) < stream.duration:
            raise Refusal(RefusalCode.MALFORMED, "stream shorter than its header says")


def _without_foreign_side_data(packet: av.Packet) -> av.Packet:
    side_data = list(packet.iter_sidedata())
    if all(item.data_type in _PACKET_SIDE_DATA_KEPT for item in side_data):
        return packet
    fresh = av.Packet(bytes(packet))
    fresh.stream = packet.stream
    fresh.time_base = packet.time_base
    fresh.pts, fresh.dts, fresh.duration = packet.pts, packet.dts, packet.duration
    fresh.is_keyframe = packet.is_keyframe
    for item in side_data:
        if item.data_type in _PACKET_SIDE_DATA_KEPT:
            fresh.set_sidedata(item)
    return fresh


def _check_declared_size(src: Path, container: str) -> None:
    """Refuse an AVI or Matroska file shorter than its outer chunk says it is: their
    demuxers stop quietly at the end of a cut file."""
    size = os.path.getsize(src)
    head = read_head(src)
    if container == "avi":
        declared = 8 + struct.unpack("<I", head[4:8])[0]
    elif container in ("matroska", "webm"):
        declared = _matroska_segment_end(head)
    else:
        return
    if declared is not None and declared > size:
        raise Refusal(RefusalCode.MALFORMED, "file shorter than its header says")


def _ebml_number(data: bytes, at: int) -> tuple[int, int, bool]:
    """An EBML variable-length size at ``at``: (value, length, whether 'unknown')."""
    if at >= len(data) or data[at] == 0:
        raise Refusal(RefusalCode.MALFORMED, "bad EBML size")
    length = 8 - data[at].bit_length() + 1
    if at + length > len(data):
        raise Refusal(RefusalCode.MALFORMED, "bad EBML size")
    value = data[at] & ((1 << (8 - length)) - 1)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    return value, length, value == (1 << (7 * length)) - 1


def _matroska_segment_end(head: bytes) -> int | None:
    """Where the Segment element says the file ends, or None for live streams."""
    header_size, length, _ = _ebml_number(head, 4)
    at = 4 + length + header_size
    if head[at : at + 4] != b"\x18\x53\x80\x67":
        raise Refusal(RefusalCode.MALFORMED, "no Matroska segment after the header")
    size, length, unknown = _ebml_number(head, at + 4)
    return None if unknown else at + 4 + length + size


# ---------------------------------------------------------------- codec headers


def _clean_extradata(stream: av.stream.Stream, muxer: str) -> bytes | None:
    """Codec headers without the tags some codecs keep there, or None to keep them.

    Vorbis and Theora carry a comment header (tags, encoder vendor) inside their
    codec headers; Ogg muxers rewrite it, Matroska and MP4 store it verbatim. FLAC
    headers from Matroska may carry VORBIS_COMMENT and PICTURE blocks after
    STREAMINFO.
    """
    name = stream.codec_context.name
    extradata = stream.codec_context.extradata or b""
    if name == "flac":
        return _flac_streaminfo(extradata)
    if name in ("vorbis", "theora") and muxer not in _XIPH_COMMENT_WRITERS:
        return _xiph_without_comments(extradata, name)
    return None


def _flac_streaminfo(extradata: bytes) -> bytes:
    if extradata.startswith(b"fLaC"):
        header = extradata[4:8]
        if len(header) < 4 or header[0] & 0x7F != 0:
            raise Refusal(RefusalCode.MALFORMED, "FLAC headers without STREAMINFO")
        length = int.from_bytes(header[1:4], "big")
        extradata = extradata[8 : 8 + length]
    if len(extradata) != 34:
        raise Refusal(RefusalCode.MALFORMED, "FLAC STREAMINFO of unexpected size")
    return extradata


_XIPH_EMPTY_COMMENT = {
    # packet type + codec name, empty vendor string, zero comments (+ Vorbis framing)
    "vorbis": b"\x03vorbis" + bytes(8) + b"\x01",
    "theora": b"\x81theora" + bytes(8),
}


def _xiph_without_comments(extradata: bytes, codec: str) -> bytes:
    """Replace the comment header in Xiph-laced codec headers with an empty one."""
    if not extradata or extradata[0] != 2:
        raise Refusal(RefusalCode.CLEANING_FAILED, f"{codec} headers not Xiph-laced")
    sizes, at = [], 1
    for _ in range(2):
        size = 0
        while at < len(extradata) and extradata[at] == 255:
            size, at = size + 255, at + 1
        if at >= len(extradata):
            raise Refusal(RefusalCode.MALFORMED, f"{codec} headers truncated")
        sizes.append(size + extradata[at])
        at += 1
    first = extradata[at : at + sizes[0]]
    comment = extradata[at + sizes[0] : at + sizes[0] + sizes[1]]
    setup = extradata[at + sizes[0] + sizes[1] :]
    empty = _XIPH_EMPTY_COMMENT[codec]
    if not setup or comment[:7] != empty[:7]:
        raise Refusal(RefusalCode.MALFORMED, f"{codec} headers out of order")

    def lace(size: int) -> bytes:
        return b"\xff" * (size // 255) + bytes([size % 255])

    return b"\x02" + lace(len(first)) + lace(len(empty)) + first + empty + setup


# ------------------------------------------------------------ ISO-BMFF user data


# User-data boxes FFmpeg's demuxer does not turn into tags (3GPP asset boxes, some
# QuickTime text boxes): the copy never carries them, but the receipt should say
# what they were. ``meta`` is read by FFmpeg itself; padding says nothing.
_USER_DATA_CATEGORIES = {
    b"loci": Category.GPS, b"\xa9xyz": Category.GPS,
    b"perf": Category.AUTHOR, b"auth": Category.AUTHOR, b"cprt": Category.AUTHOR,
    b"\xa9ART": Category.AUTHOR, b"\xa9aut": Category.AUTHOR, b"\xa9cpy": Category.AUTHOR,
    b"titl": Category.COMMENT, b"dscp": Category.COMMENT, b"kywd": Category.COMMENT,
    b"albm": Category.COMMENT, b"\xa9nam": Category.COMMENT, b"\xa9cmt": Category.COMMENT,
    b"\xa9des": Category.COMMENT, b"\xa9inf": Category.COMMENT,
    b"yrrc": Category.DATES, b"\xa9day": Category.DATES,
    b"\xa9mak": Category.MAKE_MODEL, b"\xa9mod": Category.MAKE_MODEL,
    b"\xa9swr": Category.SOFTWARE, b"\xa9too": Category.SOFTWARE, b"\xa9enc": Category.SOFTWARE,
    b"XMP_": Category.XMP,
}  # fmt: skip
_USER_DATA_SILENT = {b"meta", b"free", b"skip", b"\0\0\0\0"}


_Box = tuple[int, int, int, bytes]  # offset, size, header size, type


def _user_data_boxes(fh: BinaryIO | OutputFile) -> Iterator[_Box]:
    """The ``udta`` boxes of the movie and of each of its tracks, as they are found."""
    for start, size, header, kind in _boxes(fh, 0, fh.seek(0, os.SEEK_END)):
        if kind != b"moov":
            continue
        places = [(start + header, start + size)]
        for c_start, c_size, c_header, c_kind in _boxes(fh, *places[0]):
            if c_kind == b"trak":
                places.append((c_start + c_header, c_start + c_size))
        for place in places:
            yield from (box for box in _boxes(fh, *place) if box[3] == b"udta")


def _iso_user_data_categories(src: Path) -> set[Category]:
    """Categories of the ``udta`` boxes of the movie and its tracks, by box type.
    Best effort: FFmpeg has already accepted the file, so a box this walk cannot
    follow ends the walk rather than the cleaning."""
    found: set[Category] = set()
    try:
        with open(src, "rb") as fh:
            for u_start, u_size, u_header, _ in _user_data_boxes(fh):
                for *_, item in _boxes(fh, u_start + u_header, u_start + u_size):
                    if item not in _USER_DATA_SILENT:
                        found.add(_USER_DATA_CATEGORIES.get(item, Category.TAGS))
    except (Refusal, struct.error, OSError):
        pass
    return found


def _blank_iso_user_data(fh: BinaryIO | OutputFile) -> None:
    """Turn ``udta`` boxes of the movie and its tracks into zeroed ``free`` boxes.

    With no tags to write, FFmpeg's MP4 muxer still writes an empty iTunes metadata
    box whose handler names Apple as its vendor; it holds nothing of the tipster's,
    but it is a vendor id all the same, and no muxer option leaves it out.
    """
    for start, size, header, _ in list(_user_data_boxes(fh)):
        fh.seek(start + 4)
        fh.write(b"free")
        fh.seek(start + header)
        remaining = size - header
        while remaining > 0:
            chunk = min(remaining, 65536)
            fh.write(bytes(chunk))
            remaining -= chunk


def _boxes(fh: BinaryIO | OutputFile, start: int, end: int) -> list[_Box]:
    """(offset, size, header size, type) of the boxes between ``start`` and ``end``."""
    found = []
    at = start
    while at + 8 <= end:
        fh.seek(at)
        raw = fh.read(8)
        size, kind = struct.unpack(">I4s", raw)
        header = 8
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise Refusal(RefusalCode.CLEANING_FAILED, "muxer wrote an unreadable box")
        found.append((at, size, header, kind))
        at += size
    return found
