"""Choose a format module by a file's bytes, run it, and make its output safe to file.

The order of ``FAMILIES`` matters only where signatures overlap (ISO-BMFF boxes are
shared by HEIC, AVIF, MP4 and M4A; ZIP by office documents and plain archives). The
name a client gave a file and the type its browser claimed are never consulted.
"""

from __future__ import annotations

import importlib
import os
import secrets
from functools import cache
from pathlib import Path

from PIL import Image

from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.storage import fsync_dir

HEAD_SIZE = 4096

#: Module names under portal.cleaning, tried in this order. Each defines CLEANER.
FAMILIES = (
    "jpeg",
    "png",
    "gif",
    "webp",
    "tiff",
    "heif",
    "video",
    "audio",
    "pdf",
    "office",
    "text",
)

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


@cache
def cleaners() -> tuple[FormatCleaner, ...]:
    """The format modules, in sniffing order."""
    return tuple(importlib.import_module(f"portal.cleaning.{name}").CLEANER for name in FAMILIES)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(HEAD_SIZE)


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
        head = _read_head(src)
    except OSError as exc:
        raise Refusal(RefusalCode.MALFORMED, f"unreadable: {type(exc).__name__}") from exc
    if head.startswith(_EXECUTABLE_SIGNATURES):
        raise Refusal(RefusalCode.EXECUTABLE, "executable signature")
    for cleaner in cleaners():
        if cleaner.sniff(head, src):
            return cleaner
    raise _refusal_for_unhandled(head)


def inspect_file(src: Path, limits: Limits | None = None) -> tuple[str, set[Category]]:
    """The family name and the identifying metadata ``src`` carries."""
    limits = limits or Limits()
    cleaner = identify(src)
    return cleaner.family, _guarded(cleaner.inspect, src, limits)


def _guarded(call, *args):
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
    src: Path, dst: Path, limits: Limits | None = None, *, depth: int = 0, durable: bool = True
) -> Cleaned:
    """Clean ``src`` into ``dst``.

    On success ``dst`` holds the cleaned bytes, fsynced (unless ``durable`` is False:
    a temporary output that is encrypted and deleted next need not reach the disk),
    and was written by rename so it is never seen half-written. On refusal ``dst``
    does not exist and a :class:`Refusal` is raised. The cleaned output is checked
    once more by the module that recognises it; anything still identifying turns the
    result into a refusal.
    """
    src, dst = Path(src), Path(dst)
    limits = limits or Limits()
    if depth > limits.max_depth:
        raise Refusal(RefusalCode.TOO_LARGE, "files nested too deep")
    cleaner = identify(src)
    part = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
    try:
        result = _guarded(cleaner.clean, src, part, limits, depth)
        if not part.is_file() or part.stat().st_size == 0:
            raise Refusal(RefusalCode.CLEANING_FAILED, f"{cleaner.family} wrote nothing")
        _verify(part, limits)
        if durable:
            with open(part, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(part, dst)
        if durable:
            fsync_dir(dst.parent)
        return result
    finally:
        part.unlink(missing_ok=True)


def _verify(out: Path, limits: Limits) -> None:
    """Re-read a cleaned file as if it had been uploaded: it must be recognised and
    carry nothing identifying."""
    try:
        _family, remaining = inspect_file(out, limits)
    except Refusal as exc:
        raise Refusal(RefusalCode.CLEANING_FAILED, f"output not re-readable: {exc}") from exc
    if remaining:
        names = ",".join(sorted(remaining))
        raise Refusal(RefusalCode.CLEANING_FAILED, f"output still carries {names}")


def clean_bytes(data: bytes, workdir: Path, limits: Limits, depth: int) -> tuple[bytes, Cleaned]:
    """Clean a file found inside another (an image in a document, cover art, ...).

    ``workdir`` is the private folder of the outer clean; the nested copies live
    there only for the duration of this call.
    """
    token = secrets.token_hex(8)
    nested_in = Path(workdir) / f".nested-{token}.in"
    nested_out = Path(workdir) / f".nested-{token}.out"
    try:
        fd = os.open(nested_in, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        result = clean_file(nested_in, nested_out, limits, depth=depth)
        return nested_out.read_bytes(), result
    finally:
        nested_in.unlink(missing_ok=True)
        nested_out.unlink(missing_ok=True)
