"""Small audio and video files with known metadata, made with the ffmpeg command line,
for the video and audio cleaner tests; and PyAV helpers to compare their packets.

Every generated file is about one second long and a few kilobytes. The marker strings
below are planted as tags; a cleaned file must contain none of them, byte for byte.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import pytest
from av.stream import Disposition

from portal.cleaning import Cleaned, Limits, clean_file
from tests.exiftool_oracle import leaks, write_tags

# Strings planted in tags. A cleaned file must not contain any of them.
MARKERS = ("JuanPerezSecreto", "TituloSecreto", "ComentarioSecreto", "CalleSecreta")
LOCATION = "+31.7619-106.4850/"  # Ciudad Juarez
ROTATION_TAGS = ("-Rotation=90",)

TAGS = (
    "-metadata", f"artist={MARKERS[0]}",
    "-metadata", f"title={MARKERS[1]}",
    "-metadata", f"comment={MARKERS[2]}",
    "-metadata", f"album={MARKERS[3]}",
    "-metadata", "date=2021-05-01",
    "-metadata", "creation_time=2021-05-01T10:00:00Z",
)  # fmt: skip

_VIDEO_CODECS = {
    "mp4": ("libx264", "aac", "mov_text"),
    "mov": ("libx264", "aac", "mov_text"),
    "mkv": ("libx264", "libopus", "srt"),
    "webm": ("libvpx", "libvorbis", "webvtt"),
}
_AUDIO_CODECS = {
    "mp3": ("libmp3lame", ("-id3v2_version", "3", "-write_id3v1", "1")),
    "m4a": ("aac", ()),
    "ogg": ("libvorbis", ()),
    "opus": ("libopus", ()),
    "flac": ("flac", ()),
    "wav": ("pcm_s16le", ("-write_bext", "1", "-metadata", f"originator={MARKERS[0]}")),
}
COVER_FORMATS = ("mp3", "m4a", "flac")


def ffmpeg(*args: str | Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed: the media tests generate their files with it")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def _sources(workdir: Path) -> tuple[Path, Path]:
    """A chapter list (with a title marker) and a subtitle file."""
    chapters = workdir / "chapters.txt"
    chapters.write_text(
        f";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle={MARKERS[1]}\n"
    )
    subtitles = workdir / "subs.srt"
    subtitles.write_text(f"1\n00:00:00,000 --> 00:00:00,900\n{MARKERS[2]}\n")
    return chapters, subtitles


def cover(workdir: Path) -> Path:
    path = workdir / "cover.jpg"
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32", "-frames:v", "1", path)
    return path


def tagged_video(workdir: Path, container: str) -> Path:
    """A 64x48 one-second video with audio, tags, a location, chapters and a subtitle
    track; MP4/MOV also get a timecode data track, Matroska a font-like attachment."""
    vcodec, acodec, scodec = _VIDEO_CODECS[container]
    chapters, subtitles = _sources(workdir)
    out = workdir / f"tagged.{container}"
    args = [
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=duration=1",
        "-i", chapters, "-i", subtitles,
        "-map", "0", "-map", "1", "-map", "3", "-map_chapters", "2",
        "-c:v", vcodec, "-c:a", acodec, "-c:s", scodec, *TAGS,
        "-metadata", f"location={LOCATION}",
        "-metadata:s:a", f"title={MARKERS[1]}",
    ]  # fmt: skip
    if container in ("mp4", "mov"):
        args += ["-timecode", "01:00:00:00", "-metadata", "make=Apple"]
        args += ["-metadata", "model=iPhone 12"]
    if container == "mov":
        args += ["-movflags", "+use_metadata_tags"]
        args += ["-metadata", f"com.apple.quicktime.location.ISO6709={LOCATION}"]
    if container == "mkv":
        args += ["-attach", cover(workdir), "-metadata:s:t", "mimetype=image/jpeg"]
    ffmpeg(*args, out)
    return out


def plain_video(workdir: Path, name: str = "plain.mp4", *extra: str) -> Path:
    out = workdir / name
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-c:a", "aac",
        *extra, out,
    )  # fmt: skip
    return out


def rotated_video(workdir: Path) -> Path:
    """A video whose track matrix says: display rotated by 90 degrees (set with
    exiftool, independently of FFmpeg)."""
    out = plain_video(workdir, "rotated.mp4")
    write_tags(out, "-Rotation=90")
    return out


def tagged_audio(workdir: Path, container: str) -> Path:
    """A one-second tone with tags, and a cover picture where the format takes one."""
    codec, extra = _AUDIO_CODECS[container]
    out = workdir / f"tagged.{container}"
    args = ["-f", "lavfi", "-i", "sine=duration=1"]
    if container in COVER_FORMATS:
        args += ["-i", cover(workdir), "-map", "0", "-map", "1", "-c:v", "copy"]
        args += ["-disposition:v", "attached_pic"]
    ffmpeg(*args, "-c:a", codec, *extra, *TAGS, out)
    return out


def kept_payloads(path: Path) -> list[list[bytes]]:
    """The packet payloads of each audio and video stream (cover pictures excepted),
    in stream order then packet order."""
    with av.open(str(path)) as container:
        streams = [
            s
            for s in container.streams
            if s.type in ("audio", "video") and not s.disposition & Disposition.attached_pic
        ]
        payloads: dict[int, list[bytes]] = {s.index: [] for s in streams}
        for packet in container.demux(streams):
            if packet.size:
                payloads[packet.stream_index].append(bytes(packet))
        return [payloads[s.index] for s in streams]


def stream_types(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.type for s in container.streams]


def first_frame_rotation(path: Path) -> int:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.rotation


def displayed_first_frame(path: Path) -> tuple[tuple[int, int], bytes]:
    """The first frame as FFmpeg's player-like route shows it (the display matrix
    applied by its default autorotation): size and RGB pixels, via a PNG."""
    from PIL import Image

    still = path.with_name(f"{path.name}.first.png")
    ffmpeg("-i", path, "-frames:v", "1", "-pix_fmt", "rgb24", still)
    with Image.open(still) as image:
        return image.size, image.convert("RGB").tobytes()


def clean(src: Path, tmp_path: Path, limits: Limits | None = None) -> tuple[Cleaned, Path]:
    """Clean ``src`` through the registry into ``tmp_path``; (result, output path)."""
    out = tmp_path / "cleaned.bin"
    return clean_file(src, out, limits or Limits()), out


def assert_clean(src: Path, out: Path, needles: list[bytes]) -> None:
    """exiftool finds nothing, no needle is left, the kept packets are the original's."""
    assert leaks(out) == []
    data = out.read_bytes()
    for needle in needles:
        assert needle not in data, needle
    assert kept_payloads(out) == kept_payloads(src)


TRACK_SECRET = b"GPS5 31.7619 -106.4850 SecretTrackSample"


def data_track_video(workdir: Path, fourcc: str) -> Path:
    """An MP4 whose second track is a timed data track of sample entry ``fourcc``:
    ``gpmd`` as GoPro cameras write GPS, or ``mebx`` as iPhones write face boxes
    (FFmpeg writes the former; the latter is the same track with its sample entry
    renamed, which is all a demuxer sees of it). Every sample holds TRACK_SECRET."""
    from fractions import Fraction

    source = plain_video(workdir, "for-data-track.mp4")
    out = workdir / f"data-{fourcc}.mp4"
    with av.open(str(source)) as inp, av.open(str(out), "w", format="mp4") as mux:
        video = mux.add_stream_from_template(inp.streams.video[0])
        data = mux.add_data_stream(codec_name="bin_data")
        data.codec_tag = "gpmd"
        for i, packet in enumerate(inp.demux(inp.streams.video[0])):
            if not packet.size:
                continue
            packet.stream = video
            mux.mux(packet)
            sample = av.Packet(TRACK_SECRET)
            sample.stream, sample.time_base = data, Fraction(1, 10)
            sample.pts = sample.dts = i
            sample.duration = 1
            mux.mux(sample)
    if fourcc != "gpmd":
        raw = out.read_bytes()
        assert raw.count(b"gpmd") == 2  # the sample entry and the media header
        out.write_bytes(raw.replace(b"gpmd", fourcc.encode()))
    return out


# --------------------------------------------------------------------- AMR speech

AMR_NB_SIZES = (13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1)
AMR_WB_SIZES = (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1)


def _tone(samples: int, rate: int = 8000) -> bytes:
    import math
    import struct

    return struct.pack(
        f"<{samples}h",
        *(int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(samples)),
    )


def _encode_amr_nb(path: Path, muxer: str, seconds: int, video: bool) -> None:
    """AMR-NB at 12.2 kbit/s with PyAV's libopencore encoder (Debian's ffmpeg command
    has the decoder only), optionally beside a one-frame-per-second H.264 video."""
    with av.open(str(path), "w", format=muxer) as out:
        audio = out.add_stream("libopencore_amrnb", rate=8000)
        audio.bit_rate = 12200
        audio.layout = "mono"
        if video:
            picture = out.add_stream("libx264", rate=1)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        pcm = _tone(8000 * seconds)
        for at in range(0, 8000 * seconds, 160):
            frame = av.AudioFrame(format="s16", layout="mono", samples=160)
            frame.planes[0].update(pcm[2 * at : 2 * at + 320])
            frame.sample_rate, frame.pts = 8000, at
            for packet in audio.encode(frame):
                out.mux(packet)
            if video and at % 8000 == 0:
                still = av.VideoFrame(64, 48, "yuv420p")
                for plane in still.planes:
                    plane.update(bytes([at // 100 % 255]) * plane.buffer_size)
                still.pts = at // 8000
                for packet in picture.encode(still):
                    out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
        if video:
            for packet in picture.encode(None):
                out.mux(packet)


def amr_nb_file(workdir: Path, seconds: int = 1) -> Path:
    """A ``#!AMR`` speech file, as phones' voice recorders save them."""
    out = workdir / "voice.amr"
    _encode_amr_nb(out, "amr", seconds, video=False)
    assert out.read_bytes().startswith(b"#!AMR\n")
    return out


def amr_wb_file(workdir: Path, frames: int = 50) -> Path:
    """A ``#!AMR-WB`` file built by hand (no AMR-WB encoder is at hand): frames of
    three bit rates whose speech bits are random, which any decoder plays."""
    import random

    chooser = random.Random(7)
    body = b"".join(
        bytes([(kind << 3) | 4]) + chooser.randbytes(AMR_WB_SIZES[kind] - 1)
        for kind in [8, 2, 0] * (frames // 3)
    )
    out = workdir / "voice.awb"
    out.write_bytes(b"#!AMR-WB\n" + body)
    return out


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    import struct

    found, at = [], 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        found.append((kind, data[at + 8 : at + size]))
        at += size
    return found


def _box(kind: bytes, payload: bytes) -> bytes:
    import struct

    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _table(payload: bytes, width: int) -> list[tuple[int, ...]]:
    import struct

    count = struct.unpack(">I", payload[4:8])[0]
    return [
        struct.unpack(f">{width}I", payload[8 + 4 * width * i : 8 + 4 * width * (i + 1)])
        for i in range(count)
    ]


def _runs(values: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for value in values:
        if runs and runs[-1][1] == value:
            runs[-1][0] += 1
        else:
            runs.append([1, value])
    return runs


def _regroup_sample_table(stbl: bytes, per_sample: int) -> bytes:
    """An audio ``stbl`` whose samples hold up to ``per_sample`` consecutive frames of
    the same chunk, as feature phones write AMR (the frames' bytes do not move)."""
    import struct

    kids = dict(_boxes(stbl))
    size, count = struct.unpack(">II", kids[b"stsz"][4:12])
    sizes = [size] * count if size else list(struct.unpack(f">{count}I", kids[b"stsz"][12:]))
    durations = [d for n, d in _table(kids[b"stts"], 2) for _ in range(n)]
    chunks = len(_table(kids[b"stco"], 1))
    stsc = _table(kids[b"stsc"], 3)
    in_chunk: list[int] = []
    for i, (first, samples, _index) in enumerate(stsc):
        last = stsc[i + 1][0] - 1 if i + 1 < len(stsc) else chunks
        in_chunk += [samples] * (last - first + 1)
    new_sizes, new_durations, new_in_chunk, at = [], [], [], 0
    for samples in in_chunk:
        groups = range(0, samples, per_sample)
        for start in groups:
            group = slice(at + start, at + min(start + per_sample, samples))
            new_sizes.append(sum(sizes[group]))
            new_durations.append(sum(durations[group]))
        new_in_chunk.append(len(groups))
        at += samples
    stts = _runs(new_durations)
    flat = [value for run in stts for value in run]
    kids[b"stts"] = bytes(4) + struct.pack(f">I{len(flat)}I", len(stts), *flat)
    chunk_runs, first, entries = _runs(new_in_chunk), 1, []
    for repeat, samples in chunk_runs:
        entries += [first, samples, 1]
        first += repeat
    kids[b"stsc"] = bytes(4) + struct.pack(f">I{len(entries)}I", len(chunk_runs), *entries)
    kids[b"stsz"] = bytes(4) + struct.pack(f">II{len(new_sizes)}I", 0, len(new_sizes), *new_sizes)
    return b"".join(_box(kind, kids[kind]) for kind, _ in _boxes(stbl))


def _regroup(payload: bytes, kind: bytes, per_sample: int, audio: bool) -> bytes:
    if kind == b"stbl" and audio:
        return _regroup_sample_table(payload, per_sample)
    if kind not in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
        return payload
    out = b""
    for child, inner in _boxes(payload):
        is_audio = audio or (child == b"trak" and b"soun" in inner)
        out += _box(child, _regroup(inner, child, per_sample, is_audio))
    return out


def amr_3gp(workdir: Path, *, video: bool = False, per_sample: int = 10, seconds: int = 2) -> Path:
    """A 3GP file of AMR-NB speech (and H.264 video if ``video``) whose audio samples
    hold ``per_sample`` frames each, as old Android recorders and feature phones
    write them. FFmpeg plays it; its 3GP muxer takes one frame per packet only."""
    single = workdir / "single.3gp"
    _encode_amr_nb(single, "3gp", seconds, video)
    top = _boxes(single.read_bytes())
    assert [kind for kind, _ in top][-1] == b"moov", "moov after mdat: offsets stay"
    out = workdir / ("phone-video.3gp" if video else "phone-voice.3gp")
    out.write_bytes(b"".join(_box(k, _regroup(p, k, per_sample, False)) for k, p in top))
    return out


def amr_payload(path: Path) -> bytes:
    """The AMR frames of the first audio stream, concatenated."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return b"".join(bytes(p) for p in container.demux(stream) if p.size)
