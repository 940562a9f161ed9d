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
from tests.exiftool_oracle import leaks

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
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-Rotation=90", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
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
