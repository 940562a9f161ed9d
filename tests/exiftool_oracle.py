"""exiftool as the independent judge of what metadata a file still carries.

``leaks(path)`` lists every tag exiftool reads that would identify a person, a device,
a place or a time. Tests assert it is empty for every cleaned file. ``write_tags`` is
exiftool as the independent writer of the tags tests plant.

Each test process keeps one exiftool running (``-stay_open``, through PyExifTool):
starting exiftool costs 0.15-0.3 s of CPU, and a run of the suite asks it over 500
times. What it is asked, and how its answer is read, is as with a new process each time.
"""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from exiftool import ExifTool

# Groups that describe the file on disk or exiftool itself, not the file's content.
_NEUTRAL_GROUPS = {"ExifTool", "System", "File", "Composite"}

# Any tag in these groups is a leak.
_FORBIDDEN_GROUP = re.compile(
    r"^(XMP.*|IPTC.*|Photoshop|GPS|IFD1|SubIFD1|MakerNotes|Canon.*|Nikon.*|Apple|Olympus.*|"
    r"Panasonic.*|Sony.*|FujiFilm.*|Pentax.*|Samsung.*|Casio.*|Kodak.*|Leica.*|Minolta.*|"
    r"Ricoh.*|Sanyo.*|Sigma.*|Nintendo|Google|GoPro|DJI|MPF\d*|MPImage\d*|UserData|ItemList|"
    r"Keys|ID3.*|Vorbis|APE|Lyrics3|RIFF-INFO)$"
)

_FORBIDDEN_TAG = re.compile(
    r"(GPS|Location|Latitude|Longitude|Make|Model|Lens|Serial|Artist|Author|Creator|Owner|"
    r"Copyright|Software|Producer|Encoder|Comment|Description|Title|Subject|Keywords|"
    r"Caption|DocumentID|InstanceID|UniqueID|UUID|Thumbnail|Preview|MakerNote|HostComputer|"
    r"LastModifiedBy|Company|Manager|Template|Application|Album|Genre|Composer|Performer|"
    r"Picture|CoverArt|Handler(?:Vendor)?ID|CameraID|BodyID|Person|Region|Face)",
    re.IGNORECASE,
)

_DATE_TAG = re.compile(r"(Date|Time)", re.IGNORECASE)
_ZERO_DATE = re.compile(r"^[0:\- TZ.+]*$")
# Tags whose names match the patterns above but describe the picture or stream, not
# the person: allowed to remain.
_ALLOWED_TAGS = {
    "ImageSize",
    "ImageWidth",
    "ImageHeight",
    "Duration",
    "MediaDuration",
    "TrackDuration",
    "TimeScale",
    "MediaTimeScale",
    "ColorSpace",
    "Orientation",
    "ExifByteOrder",
    "ProfileDescription",
    "ProfileDescriptionML",
    "ProfileDateTime",
    "ProfileCreator",
    "DeviceModel",
    "DeviceManufacturer",
    "ProfileCMMType",
    "PrimaryPlatform",
    "PreviewDuration",
    "PreviewTime",
    "PosterTime",
    "SelectionTime",
    "SelectionDuration",
    "CurrentTime",
    "TimecodeScale",
    "PageCount",
    "Linearized",
    "PDFVersion",
    "FrameRate",
    "FrameCount",
    "AnimationIterations",
    "SampleRate",
    "BitsPerSample",
    "NumChannels",
    "AudioFormat",
    "VideoFrameRate",
    "CompressorID",
    "CompressorName",
    "HandlerType",
    "HandlerDescription",
    "Encoding",
    "MIMEType",
    "MajorBrand",
    "MinorVersion",
    "CompatibleBrands",
    "TrackID",
    "TrackLayer",
    "MatrixStructure",
    "Rotation",
    "TextSize",
    "LineCount",
    "WordCount",
    # Audio/video structure whose names only look like dates or descriptions:
    # ISO-BMFF sample tables (stts, ctts, sgpd), an ASF stream's start offset, a
    # Matroska seek-index timestamp, and the copyright bit of every MPEG audio frame
    # header (part of the audio data).
    "TimeToSampleTable",
    "CompositionTimeToSample",
    "SampleGroupDescription",
    "TimeOffset",
    "CueTime",
    "CopyrightFlag",
    # Vorbis identification header fields: exiftool puts them in the "Vorbis" group
    # with the comments, but they describe the audio only.
    "VorbisVersion",
    "AudioChannels",
    "NominalBitrate",
    "MaximumBitrate",
    "MinimumBitrate",
}
# Tags allowed with exactly these values: constants a muxer must write, the same in
# every file. Vorbis comments (Ogg, Opus, FLAC) require a vendor string; FFmpeg in
# bitexact mode writes "ffmpeg" instead of its version.
# ZIP entries (office documents) must carry a DOS date; 1980-01-01 00:00:00 is the
# earliest one it can hold, the constant cleaned packages are written with.
_ALLOWED_VALUES = {
    ("Vorbis", "Vendor"): {"ffmpeg"},
    ("ZIP", "ZipModifyDate"): {"1980:01:01 00:00:00"},
}
# The same, in any group (each track of a file is a group of its own). A 3GPP AMR
# sample entry (damr) must name an encoder vendor and version: FFmpeg writes its own
# code, a phone writes its maker's ("SAMS", "NOKI"), which is a leak.
_ALLOWED_TAG_VALUES = {
    "EncoderVendor": {"FFMP"},
    "EncoderVersion": {"0"},
}


def exiftool_available() -> bool:
    return shutil.which("exiftool") is not None


def read_tags(path: Path) -> dict[str, object]:
    """Every tag exiftool reads, keyed ``Group:Tag``, including embedded documents."""
    return read_tags_of_many([path])[Path(path)]


def read_tags_of_many(paths: list[Path]) -> dict[Path, dict[str, object]]:
    """:func:`read_tags` for many files in one exiftool command."""
    if not paths:
        return {}
    out, _status, _errors = _execute("-j", "-a", "-G1", "-s", "-ee", "-u", "-b", *paths)
    found = {Path(entry.pop("SourceFile")): entry for entry in json.loads(out or b"[]")}
    # A file exiftool cannot read at all has no entry: it carries no tag it could read.
    return {Path(path): found.get(Path(path).absolute(), {}) for path in paths}


def write_tags(path: Path, *args: str) -> None:
    """Write tags into ``path`` in place (``-overwrite_original``); fails the test if
    exiftool refuses. exiftool goes by the file's name to choose the format."""
    _out, status, errors = _execute("-overwrite_original", *args, path)
    if status != 0:
        raise AssertionError(f"exiftool could not write tags into {path.name}: {errors}")


@functools.cache
def _running() -> tuple[ExifTool, threading.Lock]:
    if not exiftool_available():
        pytest.fail("exiftool is not installed: .ci/run installs libimage-exiftool-perl")
    tool = ExifTool(common_args=[], encoding="utf-8")  # no options beyond the caller's
    tool.run()
    atexit.register(tool.terminate)
    return tool, threading.Lock()


def _execute(*args: str | Path) -> tuple[bytes, int, str]:
    """exiftool's standard output, exit status and standard error for ``args``, of
    which the paths are files. Paths are made absolute: the kept-open exiftool has
    its own working folder, and it would read ``--`` (the usual guard for a path that
    looks like an option) as the end of every later command too."""
    words = [str(arg.absolute()) if isinstance(arg, Path) else arg for arg in args]
    tool, lock = _running()
    with lock:
        out = tool.execute(*words, raw_bytes=True)
        assert isinstance(out, bytes) and tool.last_status is not None
        return out, tool.last_status, bytes(tool.last_stderr).decode(errors="replace")


def leaks(path: Path) -> list[str]:
    """The identifying tags exiftool still finds in ``path``, as ``Group:Tag=value``."""
    return identifying(read_tags(path))


def leaks_of_many(paths: list[Path]) -> dict[Path, list[str]]:
    """:func:`leaks` for many files in one exiftool run."""
    return {path: identifying(tags) for path, tags in read_tags_of_many(paths).items()}


def identifying(tags: dict[str, object]) -> list[str]:
    """Of the tags :func:`read_tags` returned, those that identify, as ``Group:Tag=value``."""
    found = []
    for key, value in tags.items():
        group, _, tag = key.rpartition(":")
        group = group.split(":")[-1]
        # exiftool files a JPEG's COM segment under File:Comment: content, not disk.
        neutral = group in _NEUTRAL_GROUPS and (group, tag) != ("File", "Comment")
        if neutral or tag in _ALLOWED_TAGS:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if (
            text.strip() == ""
            or text in _ALLOWED_VALUES.get((group, tag), ())
            or text in _ALLOWED_TAG_VALUES.get(tag, ())
        ):
            continue  # an empty tag says nothing
        if group.startswith("ICC") and not tag.startswith(("Profile", "Device")):
            continue
        if (
            _FORBIDDEN_GROUP.match(group)
            or _FORBIDDEN_TAG.search(tag)
            or (_DATE_TAG.search(tag) and not _ZERO_DATE.match(text.strip()))
        ):
            found.append(f"{key}={text[:60]}")
    return found
