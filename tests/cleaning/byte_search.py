"""Every byte string a file holds, for searching cleaned files for values that must
be gone: the file itself plus zip members (recursively), decoded PDF streams and
strings, and compressed PNG text and ICC chunks; and the encodings a value is commonly
stored in."""

from __future__ import annotations

import contextlib
import html
import io
import struct
import zipfile
import zlib

import pytest

_MAX_EXPANDED = 256 * 1024 * 1024


def expand(data: bytes, depth: int = 0) -> list[bytes]:
    """``data`` plus what is hidden in it compressed: zip members (recursively),
    decoded PDF streams and strings, compressed PNG text and ICC chunks."""
    parts = [data]
    if depth > 3:
        return parts
    if data.startswith(b"PK\x03\x04"):
        parts += _zip_parts(data, depth)
    if data[:1024].find(b"%PDF-") != -1:
        parts += _pdf_parts(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        parts += _png_parts(data)
    return parts


def _zip_parts(data: bytes, depth: int) -> list[bytes]:
    parts: list[bytes] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if info.file_size > _MAX_EXPANDED:
                    continue
                parts.append(info.filename.encode())
                parts += expand(zf.read(info), depth + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError):
        pass
    return parts


def _pdf_parts(data: bytes) -> list[bytes]:
    pikepdf = pytest.importorskip("pikepdf")
    parts: list[bytes] = []

    def walk(obj, top: bool) -> None:
        if not isinstance(obj, pikepdf.Object) or (not top and obj.is_indirect):
            return  # visited on its own through pdf.objects
        if isinstance(obj, pikepdf.String):
            parts.append(bytes(obj))
            parts.append(str(obj).encode("utf-8", "replace"))
        elif isinstance(obj, pikepdf.Array):
            for item in obj:
                walk(item, False)
        elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            for key in obj.keys():  # noqa: SIM118 (pikepdf objects are not dicts)
                walk(obj.get(key), False)
            if isinstance(obj, pikepdf.Stream):
                try:
                    parts.append(obj.read_bytes())
                except pikepdf.PdfError:
                    parts.append(obj.read_raw_bytes())

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for obj in pdf.objects:
                walk(obj, True)
    except pikepdf.PdfError:
        pass
    return parts


def _png_parts(data: bytes) -> list[bytes]:
    parts: list[bytes] = []
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        compressed = None
        if kind in (b"zTXt", b"iCCP"):
            compressed = body[body.find(b"\x00") + 2 :]
        elif kind == b"iTXt":
            keyword_end = body.find(b"\x00")
            if body[keyword_end + 1 : keyword_end + 2] == b"\x01":
                rest = body[keyword_end + 3 :]
                rest = rest[rest.find(b"\x00") + 1 :]  # language tag
                compressed = rest[rest.find(b"\x00") + 1 :]  # translated keyword
        if compressed is not None:
            with contextlib.suppress(zlib.error):
                parts.append(zlib.decompressobj().decompress(compressed, _MAX_EXPANDED))
    return parts


def encodings(value: str) -> set[bytes]:
    """The ways a value is commonly stored in a file."""
    found = {value.encode("utf-8"), html.escape(value, quote=False).encode("utf-8")}
    for codec in ("utf-16-be", "utf-16-le", "latin-1"):
        with contextlib.suppress(UnicodeEncodeError):
            found.add(value.encode(codec))
    return found
