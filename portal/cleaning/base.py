"""The shared vocabulary of the cleaner: what a format module is, what it reports,
and how it refuses.

Every format module subclasses :class:`FormatCleaner`. A module never decides on its
own to let something through: any doubt is a :class:`Refusal`. Modules report what
they found as :class:`Category` values, which the receipt turns into plain words,
and what a cleaned file is as a :class:`Kind`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol


class Category(enum.StrEnum):
    """A kind of identifying metadata, as told to a tipster on the receipt."""

    GPS = "gps"  # location: GPS tags, location names, GPS tracks
    MAKE_MODEL = "make_model"  # camera/phone make, model, lens
    SERIAL = "serial"  # serial numbers, unique device or document ids
    DATES = "dates"  # date taken, created, modified
    AUTHOR = "author"  # author, artist, owner, creator, last modified by
    SOFTWARE = "software"  # editing or producing software and its version
    COMMENT = "comment"  # comments, descriptions, titles, keywords, captions
    THUMBNAIL = "thumbnail"  # embedded thumbnails, previews, secondary images
    EXIF = "exif"  # other camera settings (EXIF) beyond the above
    XMP = "xmp"  # XMP packets (edit history, ids)
    IPTC = "iptc"  # IPTC/Photoshop press metadata
    MAKER_NOTES = "maker_notes"  # manufacturer-private blocks
    ICC_PROFILE = "icc_profile"  # a non-standard colour profile (can name a device)
    REVISIONS = "revisions"  # earlier revisions, tracked changes, rsids
    EMBEDDED = "embedded"  # embedded files/attachments/extra streams dropped
    TAGS = "tags"  # audio/video container and stream tags (title, encoder, ...)
    HIDDEN_DATA = "hidden_data"  # data after the end of the file, private chunks
    FILE_PATHS = "file_paths"  # names of files and folders on the author's computer
    SCRIPTS = "scripts"  # scripts, macros and actions run on opening
    INVISIBLE_CHARACTERS = "invisible_characters"  # zero-width, direction marks, tags


class Kind(enum.StrEnum):
    """What a cleaned file is, as stored with it and named on the receipt and in the
    inbox (``StoredFile.kind`` holds the value as a string)."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    TEXT = "text"


class RefusalCode(enum.StrEnum):
    """Why a file was refused. Each maps to a translated message for the tipster."""

    UNKNOWN_TYPE = "unknown_type"
    ARCHIVE = "archive"
    ACTIVE_CONTENT = "active_content"  # HTML, SVG, scripts
    EXECUTABLE = "executable"
    MALFORMED = "malformed"  # truncated, corrupt, or not what it claims
    TOO_LARGE = "too_large"  # decompression bombs, absurd dimensions or counts
    TOO_COMPLEX = "too_complex"  # over its resource budget (frames, elements, objects)
    ENCRYPTED = "encrypted"  # password-protected, cannot be inspected
    EMPTY = "empty"
    CLEANING_FAILED = "cleaning_failed"


class Alteration(enum.StrEnum):
    """A change to the content itself, made because it could not be copied as it was
    (each is told to the tipster on the receipt and to editors in the inbox)."""

    AUDIO_REENCODED = "audio_reencoded"  # the audio was decoded and encoded afresh
    VIDEO_REENCODED = "video_reencoded"  # the video was decoded and encoded afresh


class Refusal(Exception):
    """A file that will not be filed. ``detail`` is for developers only: it may name
    internals but never the file's content or name."""

    def __init__(self, code: RefusalCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile files from exhausting the server."""

    max_pixels: int = 100_000_000  # per frame, checked before decoding
    max_frames: int = 5_000  # animation frames
    # every frame's pixels and the canvas once, in total: what decoding a file costs
    max_decoded_pixels: int = 400_000_000
    max_expanded_bytes: int = 512 * 1024 * 1024  # zip members, PDF streams, in total
    max_members: int = 5_000  # entries in an office document
    max_xml_elements: int = 1_000_000  # elements in all XML parts of a document
    max_xml_depth: int = 200  # elements nested in elements
    max_pdf_objects: int = 500_000  # PDF objects, and the values walked in them
    max_pdf_stream_bytes: int = 128 * 1024 * 1024  # one PDF stream read or decoded
    max_compression_ratio: int = 200  # a zip member's expanded/compressed ratio
    max_depth: int = 3  # files inside files inside files
    # video that must be re-encoded (it cannot be copied): about 3 minutes of 1080p
    # at 30 fps, which x264's "veryfast" encodes on one core in about that time
    max_encoded_pixels: int = 10_000_000_000
    chunk_size: int = 1024 * 1024  # streaming copy unit


@dataclass(frozen=True)
class Cleaned:
    """What a successful clean produced.

    ``kind`` says what the file is (a :class:`Kind`);
    ``format`` a short upper-case name ("JPEG", "MP4", "PDF"); ``mime`` and
    ``extension`` (without dot) describe the cleaned output, which may differ from
    the input (HEIC becomes JPEG). ``altered`` says what of the content itself had to
    be changed (a stream re-encoded); it is empty for a lossless clean.
    """

    kind: Kind
    format: str
    mime: str
    extension: str
    removed: frozenset[Category] = field(default_factory=frozenset)
    altered: frozenset[Alteration] = field(default_factory=frozenset)


#: How much of a file sniffing looks at: every family's signature fits in it.
HEAD_SIZE = 4096


def read_head(path: Path) -> bytes:
    """The first :data:`HEAD_SIZE` bytes of ``path``, as sniffing sees them."""
    with open(path, "rb") as fh:
        return fh.read(HEAD_SIZE)


class OutputFile(Protocol):
    """A file a family may write its cleaned copy through, opened on the path it
    would otherwise open itself (see :meth:`FormatCleaner.clean_through`)."""

    def read(self, size: int = -1, /) -> bytes: ...
    def write(self, data: bytes, /) -> int: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...
    def truncate(self, size: int | None = None, /) -> int: ...
    def fileno(self) -> int: ...


class FormatCleaner:
    """One format family. Subclasses set the class attributes and implement the
    three methods. Instances are cheap and hold no state between files."""

    #: short name of the family, used in logs and tests ("jpeg", "video", ...)
    family: ClassVar[str] = ""

    def sniff(self, head: bytes, path: Path) -> bool:
        """Whether this module handles the file. ``head`` is :func:`read_head`'s;
        ``path`` may be opened for a deeper look (zip directory, box structure).
        Must not raise for files it does not handle."""
        raise NotImplementedError

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        """The identifying metadata the file carries. Raises Refusal if the file
        cannot be understood."""
        raise NotImplementedError

    def reinspect(self, out: Path, limits: Limits) -> set[Category]:
        """The identifying metadata a cleaned copy still carries, read back from disk
        as the registry's safety net after :meth:`clean`. As :meth:`inspect` unless a
        module makes it cheaper: it may skip re-proving compressed data that its clean
        proved and copied unchanged, never the structure or the metadata."""
        return self.inspect(out, limits)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        """Write a cleaned copy of ``src`` to ``dst`` (a fresh path in a private
        folder; the registry renames it, and fsyncs it if asked). ``depth`` counts how deep in
        nested files we are; pass ``depth + 1`` to :func:`registry.clean_bytes` for
        files found inside this one. Raises Refusal on any doubt."""
        raise NotImplementedError

    #: whether :meth:`clean_through` is implemented
    writes_through: ClassVar[bool] = False

    def clean_through(
        self, src: Path, dst: Path, out: OutputFile, limits: Limits, depth: int
    ) -> Cleaned:
        """As :meth:`clean`, writing every byte of the copy through ``out``, a file
        already opened on ``dst`` for a caller that watches what is written (filing
        encrypts it as it goes). Only for families that set :attr:`writes_through`."""
        raise NotImplementedError
