"""Choose a format module by a file's bytes, run it, and make its output safe to file.

The order of :data:`CLEANERS` matters only where signatures overlap (ISO-BMFF boxes
are shared by HEIC, AVIF, MP4 and M4A; ZIP by office documents and plain archives).
The name a client gave a file and the type its browser claimed are never consulted.

Importing this module imports every family's cleaner, which is cheap: sniffing reads
bytes only, and the heavy libraries (PyAV, pikepdf, pillow-heif, lxml, ...) are
imported by a family when it first inspects or cleans a file.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from PIL import Image

from portal.cleaning import gif, heif, jpeg, media, office, pdf, png, text, tiff, webp
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
from portal.storage import fsync_dir, fsync_file, part_path

#: Every format family, in the order their sniffers are tried.
CLEANERS: tuple[FormatCleaner, ...] = (
    jpeg.CLEANER,
    png.CLEANER,
    gif.CLEANER,
    webp.CLEANER,
    tiff.CLEANER,
    heif.CLEANER,
    media.VIDEO_CLEANER,
    media.AUDIO_CLEANER,
    pdf.CLEANER,
    office.CLEANER,
    text.CLEANER,
)

#: What the families import only once they inspect or clean a file: the libraries
#: that make starting a process slow (PyAV, pikepdf, lxml, pillow-heif).
DEFERRED_MODULES = (
    "portal.cleaning.media.remux",
    "portal.cleaning.pdf.rewrite",
    "portal.cleaning.office.ooxml",
    "portal.cleaning.office.odf",
    "pillow_heif",
)

_T = TypeVar("_T")


def load_all() -> None:
    """Import now what every family would import on its first file, as a process
    that has cleaned one file of each has done (benchmarks time cleaning alone)."""
    for name in DEFERRED_MODULES:
        importlib.import_module(name)


_EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O fat binary / Java class
    b"#!",  # scripts
    b"\x00asm",  # WebAssembly
    b"dex\n",  # Android
)

_ARCHIVE_SIGNATURES = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # cab
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE2: legacy .doc/.xls, msi
)

_ACTIVE_MARKERS = (
    b"<!doctype html",
    b"<html",
    b"<svg",
    b"<script",
    b"<?xml",
    b"<?php",
    b"<%",
)


def _refusal_for_unhandled(head: bytes) -> Refusal:
    if head.startswith(_ARCHIVE_SIGNATURES) or head[257:262] == b"ustar":
        return Refusal(RefusalCode.ARCHIVE, "archive signature")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(marker in lowered for marker in _ACTIVE_MARKERS):
        return Refusal(RefusalCode.ACTIVE_CONTENT, "markup signature")
    return Refusal(RefusalCode.UNKNOWN_TYPE, "no module recognised the bytes")


def identify(src: Path) -> FormatCleaner:
    """The module that handles ``src``, judged by its bytes. Raises Refusal."""
    try:
        if os.path.getsize(src) == 0:
            raise Refusal(RefusalCode.EMPTY, "zero bytes")
        head = read_head(src)
    except OSError as exc:
        raise Refusal(RefusalCode.MALFORMED, f"unreadable: {type(exc).__name__}") from exc
    # "#!" starts scripts, and AMR speech files too ("#!AMR\n"): those are judged as
    # audio, and refused unless they are AMR through and through.
    if head.startswith(_EXECUTABLE_SIGNATURES) and not head.startswith(media.AMR_MAGICS):
        raise Refusal(RefusalCode.EXECUTABLE, "executable signature")
    for cleaner in CLEANERS:
        if cleaner.sniff(head, src):
            return cleaner
    raise _refusal_for_unhandled(head)


def inspect_file(src: Path, limits: Limits | None = None) -> tuple[str, set[Category]]:
    """The family name and the identifying metadata ``src`` carries."""
    limits = limits or Limits()
    cleaner = identify(src)
    return cleaner.family, _guarded(cleaner.inspect, src, limits)


def _guarded(call: Callable[..., _T], *args: object) -> _T:
    """Run a module call, turning anything but a Refusal into one."""
    try:
        return call(*args)
    except Refusal:
        raise
    except Image.DecompressionBombError as exc:
        raise Refusal(RefusalCode.TOO_LARGE, "pillow decompression bomb") from exc
    except MemoryError as exc:
        raise Refusal(RefusalCode.TOO_LARGE, "out of memory") from exc
    except RecursionError as exc:
        raise Refusal(RefusalCode.MALFORMED, "nesting too deep") from exc
    except Exception as exc:
        raise Refusal(RefusalCode.CLEANING_FAILED, type(exc).__name__) from exc


def clean_file(
    src: Path,
    dst: Path,
    limits: Limits | None = None,
    *,
    depth: int = 0,
    durable: bool = True,
    through: Callable[[Path], OutputFile] | None = None,
) -> Cleaned:
    """Clean ``src`` into ``dst``.

    On success ``dst`` holds the cleaned bytes and was written by rename so it is
    never seen half-written. On refusal ``dst`` does not exist and a
    :class:`Refusal` is raised. The cleaned output is checked once more by the module
    that recognises it; anything still identifying turns the result into a refusal.

    ``durable`` (the default) fsyncs the cleaned file and then its folder, for a
    caller that does nothing more to make it last (``flask scrub``). A caller that
    does passes False, so nothing is fsynced twice or for nothing: filing encrypts the
    plaintext output into a file it fsyncs and deletes the output next, and a file
    nested in another is read back and deleted at once.

    ``through``, when the family can write through a file object, is called with the
    path of the copy being written and returns the file to write it through (filing
    passes :class:`portal.crypto.streaming.StreamedEncryption`); other families
    write the path themselves and ``through`` is never called.
    """
    src, dst = Path(src), Path(dst)
    limits = limits or Limits()
    if depth > limits.max_depth:
        raise Refusal(RefusalCode.TOO_LARGE, "files nested too deep")
    cleaner = identify(src)
    part = part_path(dst)
    try:
        if through is not None and cleaner.writes_through:
            result = _guarded(cleaner.clean_through, src, part, through(part), limits, depth)
        else:
            result = _guarded(cleaner.clean, src, part, limits, depth)
        if not part.is_file() or part.stat().st_size == 0:
            raise Refusal(RefusalCode.CLEANING_FAILED, f"{cleaner.family} wrote nothing")
        _verify(part, limits)
        if durable:
            fsync_file(part)
        os.replace(part, dst)
        if durable:
            fsync_dir(dst.parent)
        return result
    finally:
        part.unlink(missing_ok=True)


def _verify(out: Path, limits: Limits) -> None:
    """Re-read a cleaned file as if it had been uploaded: it must be recognised and
    carry nothing identifying. The module that recognises it reads it again from
    disk (:meth:`FormatCleaner.reinspect`), sharing nothing with the clean."""
    try:
        cleaner = identify(out)
        remaining = _guarded(cleaner.reinspect, out, limits)
    except Refusal as exc:
        raise Refusal(RefusalCode.CLEANING_FAILED, f"output not re-readable: {exc}") from exc
    if remaining:
        names = ",".join(sorted(remaining))
        raise Refusal(RefusalCode.CLEANING_FAILED, f"output still carries {names}")


@contextmanager
def _nested_copy(data: bytes, workdir: Path) -> Iterator[Path]:
    """``data`` as a new private file in ``workdir``, removed on leaving."""
    path = Path(workdir) / f".nested-{secrets.token_hex(8)}.in"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        path.unlink(missing_ok=True)


def inspect_bytes(data: bytes, workdir: Path, limits: Limits) -> set[Category]:
    """The identifying metadata of a file found inside another, which is only being
    inspected. ``workdir`` is a folder of the outer file's; the nested copy lives
    there only for the duration of this call."""
    with _nested_copy(data, workdir) as nested:
        return inspect_file(nested, limits)[1]


def clean_bytes(data: bytes, workdir: Path, limits: Limits, depth: int) -> tuple[bytes, Cleaned]:
    """Clean a file found inside another (an image in a document, cover art, ...).

    ``workdir`` is the private folder of the outer clean; the nested copies live
    there only for the duration of this call.
    """
    with _nested_copy(data, workdir) as nested_in:
        nested_out = nested_in.with_suffix(".out")
        try:
            result = clean_file(nested_in, nested_out, limits, depth=depth, durable=False)
            return nested_out.read_bytes(), result
        finally:
            nested_out.unlink(missing_ok=True)
