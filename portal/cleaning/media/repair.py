"""What to do with a stream whose packets cannot be copied as they are.

A packet copy (:mod:`.remux`) is the only clean that changes nothing of the picture or
the sound, so it is always tried first. Some playable files cannot be copied: FFmpeg's
3GP/MP4 muxer takes one AMR frame per packet, while old Android recorders and feature
phones store several frames in each sample ("input is not a single packet"). Such a
stream goes through two more steps, each tried only when the one before failed:

1. :data:`Treatment.REPACK`, a lossless repair: AMR packets are split into single
   frames using the frame-size table of each frame's header (3GPP TS 26.101 and
   26.201), as FFmpeg's own AMR parser does; the bytes are the same.
2. :data:`Treatment.ENCODE`: the stream is decoded and encoded afresh (audio to AAC,
   or Opus where the container takes Opus; video to H.264 with x264), and the result
   says so (:class:`~portal.cleaning.base.Alteration`) so that the receipt and the
   inbox can tell.

A stream that cannot be demuxed or decoded is damaged, and only that is refused as
such. Encoding is paid for from the file's :class:`~portal.cleaning.budget.Budget`
(pixels encoded), so a long video is refused as too complex rather than keeping a
worker busy for an hour.
"""

from __future__ import annotations

import enum
from fractions import Fraction
from typing import Any

import av
import av.error
from av.audio.resampler import AudioResampler
from av.bitstream import BitStreamFilterContext
from av.container import OutputContainer

from portal.cleaning.base import Alteration, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource


class Treatment(enum.IntEnum):
    """How a stream's packets reach the output, from the least to the most change."""

    COPY = 0
    REPACK = 1
    ENCODE = 2


#: Bytes of one AMR frame (header byte included) by frame type (header bits 3-6), for
#: each codec by FFmpeg's decoder name; zero marks a reserved type, which no valid
#: frame has.
AMR_FRAME_SIZES = {
    "amrnb": (13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1),
    "amrwb": (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1),
}
#: Samples in one AMR frame (20 ms at 8 kHz or 16 kHz).
AMR_FRAME_SAMPLES = {"amrnb": 160, "amrwb": 320}

#: Muxers that take Opus; every other one gets AAC.
_OPUS_MUXERS = {"webm", "ogg", "opus", "matroska"}
_OPUS_RATES = (48000, 24000, 16000, 12000, 8000)
_AAC_RATES = (
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000,
)  # fmt: skip


def next_treatment(current: Treatment, codec: str) -> Treatment | None:
    """What to try after ``current`` failed for a stream of ``codec``, or None when
    nothing is left to try."""
    if current == Treatment.COPY and codec in AMR_FRAME_SIZES:
        return Treatment.REPACK
    if current < Treatment.ENCODE:
        return Treatment.ENCODE
    return None


def amr_frames(data: bytes, codec: str) -> list[bytes]:
    """The AMR frames ``data`` holds. Raises Refusal (malformed) unless every frame
    header is valid (padding bits zero, a type that exists) and the frames fill
    ``data`` exactly: FFmpeg's AMR demuxer takes any bytes after the magic for frames,
    so a script behind ``#!AMR`` would otherwise pass for speech."""
    sizes = AMR_FRAME_SIZES[codec]
    frames: list[bytes] = []
    at = 0
    while at < len(data):
        header = data[at]
        size = sizes[(header >> 3) & 0x0F]
        if header & 0x83 or size == 0 or at + size > len(data):
            raise Refusal(RefusalCode.MALFORMED, "not a sequence of AMR frames")
        frames.append(data[at : at + size])
        at += size
    return frames


def split_amr(packet: _Packet, codec: str) -> list[_Packet]:
    """``packet`` as one packet per AMR frame, with the same bytes. Raises Refusal
    (malformed) if the frames do not fill the packet exactly."""
    frames = amr_frames(bytes(packet), codec)
    if len(frames) == 1:
        return [packet]
    step = _frame_step(packet, codec)
    split = []
    for number, frame in enumerate(frames):
        piece = av.Packet(frame)
        piece.time_base = packet.time_base
        if packet.pts is not None:
            piece.pts = packet.pts + number * step
        if packet.dts is not None:
            piece.dts = packet.dts + number * step
        piece.duration = step
        piece.is_keyframe = True
        split.append(piece)
    return split


def _frame_step(packet: _Packet, codec: str) -> int:
    """One frame's duration in the packet's time base."""
    time_base = packet.time_base or Fraction(1, 1)
    rate = 8000 if codec == "amrnb" else 16000
    step = Fraction(AMR_FRAME_SAMPLES[codec], rate) / time_base
    if step.denominator != 1:
        raise Refusal(RefusalCode.CLEANING_FAILED, "AMR frames do not fit the time base")
    return int(step)


def alteration(stream: _Stream) -> Alteration:
    return Alteration.VIDEO_REENCODED if stream.type == "video" else Alteration.AUDIO_REENCODED


#: PyAV's packets, frames and streams, as far as its stubs go (audio and video
#: streams share no typed interface for encoding and decoding).
_Packet = Any
_Stream = Any


class Encoder:
    """Decodes one input stream and encodes it into a fresh stream of ``out``."""

    def __init__(self, source: _Stream, out: OutputContainer, muxer: str) -> None:
        self.source = source
        self.is_video = source.type == "video"
        self._resampler: AudioResampler | None = None
        self._next_pts = 0
        self._filter: BitStreamFilterContext | None = None
        if self.is_video:
            self.stream = self._video_stream(source, out)
        else:
            self.stream = self._audio_stream(source, out, muxer)

    @staticmethod
    def _video_stream(source: _Stream, out: OutputContainer) -> _Stream:
        context = source.codec_context
        rate = source.average_rate or source.guessed_rate or Fraction(30, 1)
        stream = out.add_stream("libx264", rate=rate)
        # 4:2:0 needs even sides; an odd last row or column is dropped.
        stream.width = max(2, context.width - context.width % 2)
        stream.height = max(2, context.height - context.height % 2)
        stream.pix_fmt = "yuv420p"
        stream.time_base = source.time_base
        stream.options = {"preset": "veryfast", "crf": "20"}
        return stream

    def _audio_stream(self, source: _Stream, out: OutputContainer, muxer: str) -> _Stream:
        context = source.codec_context
        opus = muxer in _OPUS_MUXERS
        rates = _OPUS_RATES if opus else _AAC_RATES
        rate = context.sample_rate if context.sample_rate in rates else 48000
        channels = min(max(context.channels, 1), 2)
        layout = "stereo" if channels == 2 else "mono"
        stream = out.add_stream("libopus" if opus else "aac", rate=rate)
        stream.layout = layout
        stream.time_base = Fraction(1, rate)
        stream.options = {"flags": "+bitexact"}  # no encoder version in the stream
        self._resampler = AudioResampler(format="s16" if opus else "fltp", layout=layout, rate=rate)
        return stream

    def encode(self, packet: _Packet, budget: Budget) -> list[_Packet]:
        """The encoded packets for one input packet (``None`` flushes)."""
        try:
            frames = self.source.codec_context.decode(packet)
        except av.error.FFmpegError as exc:
            raise Refusal(RefusalCode.MALFORMED, f"decoding: {type(exc).__name__}") from exc
        return self._encode_frames(frames, budget)

    def flush(self, budget: Budget) -> list[_Packet]:
        try:
            frames = self.source.codec_context.decode(None)
        except av.error.FFmpegError as exc:
            raise Refusal(RefusalCode.MALFORMED, f"decoding: {type(exc).__name__}") from exc
        packets = self._encode_frames(frames, budget)
        if self._resampler is not None:
            packets += self._encode_audio(self._resampler.resample(None))
        packets += self._encoded(None)
        return packets

    def _encode_frames(self, frames: list[av.frame.Frame], budget: Budget) -> list[_Packet]:
        packets: list[_Packet] = []
        for frame in frames:
            if isinstance(frame, av.VideoFrame):
                stream = self.stream
                pixels = stream.width * stream.height
                budget.spend(Resource.ENCODED_PIXELS, pixels, "too much video to re-encode")
                fresh = frame.reformat(stream.width, stream.height, "yuv420p")
                fresh.pts = frame.pts
                fresh.time_base = frame.time_base or self.source.time_base
                packets += self._encoded(fresh)
            elif isinstance(frame, av.AudioFrame) and self._resampler is not None:
                frame.pts = None  # the resampler counts samples from the start
                packets += self._encode_audio(self._resampler.resample(frame))
        return packets

    def _encode_audio(self, frames: list[av.AudioFrame]) -> list[_Packet]:
        packets: list[_Packet] = []
        for frame in frames:
            frame.pts = self._next_pts
            frame.time_base = self.stream.time_base
            self._next_pts += frame.samples
            packets += self._encoded(frame)
        return packets

    def _encoded(self, frame: av.frame.Frame | None) -> list[_Packet]:
        try:
            packets = list(self.stream.encode(frame))
            if not self.is_video:
                return packets
            if self._filter is None:
                # x264 writes its version and every option in an SEI message of the
                # first frame: a fingerprint of the server. Those messages go. (The
                # filter needs the encoder opened, which its first frame does.)
                self._filter = BitStreamFilterContext(
                    "filter_units=remove_types=6", in_stream=self.stream
                )
            filtered: list[_Packet] = []
            for packet in packets:
                filtered += self._filter.filter(packet)
            if frame is None:
                filtered += self._filter.filter(None)
            for packet in filtered:
                packet.stream = self.stream
            return filtered
        except av.error.FFmpegError as exc:
            raise Refusal(RefusalCode.CLEANING_FAILED, f"encoding: {type(exc).__name__}") from exc
