"""JPEG cleaning by rewriting segments, re-encoding only to convert a device profile.

A JPEG is a chain of marker segments followed by entropy-coded scan data. The cleaner
copies what decoding needs (frame header, quantisation and Huffman tables, restart
interval, scans with their coded data, byte for byte) and drops every application
segment (EXIF, XMP, IPTC, MPF, maker blocks, vendor segments) and comment. It re-emits
only:

* a minimal JFIF header (pixel density, no thumbnail) if the original had one;
* a minimal EXIF block holding nothing but Orientation, if the picture is rotated;
* the colour profile, as the canonical copy of a standard profile (see
  :mod:`portal.cleaning.icc`). A device profile is dropped after the colours are
  converted to sRGB: that one case is re-encoded (same quantisation tables and
  subsampling), because dropping the profile alone would shift the colours;
* a fresh Adobe segment (colour transform only) if the original had one, because
  CMYK/YCCK and RGB JPEGs are decoded according to it.

Everything after the first image's end marker is cut: MPO second images, Ultra HDR
gain maps, motion-photo videos and appended data carry their own metadata. A primary
image that is truncated or malformed is refused; dimensions are checked before any
pixel is decoded. The file is streamed in ``Limits.chunk_size`` pieces.

EXIF and XMP are judged by :mod:`portal.cleaning.exif`, as in every image module.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from PIL import Image, JpegImagePlugin

from portal.cleaning import icc
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Kind,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.cleaning.exif import EXIF_MAGIC, exif_categories, orientation_exif, xmp_categories
from portal.cleaning.pixels import check_pixels, verify_decodes

_SOI = 0xD8
_EOI = 0xD9
_SOS = 0xDA
_DQT = 0xDB
_DNL = 0xDC
_DRI = 0xDD
_DHT = 0xC4
_DAC = 0xCC
_COM = 0xFE
_APP0 = 0xE0
_APP1 = 0xE1
_APP2 = 0xE2
_APP13 = 0xED
_APP14 = 0xEE
# Frame headers: baseline, extended, progressive, lossless, Huffman or arithmetic.
# Hierarchical frames (C5-C7, CD-CF) are not decodable by libjpeg and are refused.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB}
_TABLES = {_DQT, _DHT, _DAC, _DRI}

# 0xFF followed by anything but a stuffed zero or a restart marker ends a scan.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_MAX_SCANS = 1000  # progressive files use ~10; thousands are a decoder DoS
_ICC_MAGIC = b"ICC_PROFILE\x00"
_ICC_CHUNK = 65519 - 14 - 2  # room left in one APP2 after magic and sequence bytes
_XMP_MAGICS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")


# --- streaming segment reader -----------------------------------------------------


def _malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)


class _Stream:
    """A buffered reader that can copy entropy-coded data up to the next marker."""

    def __init__(self, fh: BinaryIO, chunk_size: int) -> None:
        self._fh = fh
        self._chunk = max(chunk_size, 4096)
        self._buf = b""
        self._pos = 0

    def _fill(self, need: int) -> bool:
        if len(self._buf) - self._pos >= need:
            return True
        rest = self._buf[self._pos :]
        while len(rest) < need:
            more = self._fh.read(max(self._chunk, need - len(rest)))
            if not more:
                break
            rest += more
        self._buf, self._pos = rest, 0
        return len(rest) >= need

    def read(self, n: int) -> bytes:
        if not self._fill(n):
            raise _malformed("truncated")
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self._buf[self._pos : self._pos + n]

    def next_marker(self) -> int:
        """The next marker code, skipping fill bytes. Data between segments is
        malformed."""
        if self.read(1) != b"\xff":
            raise _malformed("expected a marker")
        while True:
            code = self.read(1)[0]
            if code != 0xFF:
                return code

    def copy_scan(self, write: Callable[[bytes], object]) -> int:
        """Pass entropy-coded bytes (with stuffed zeros and restart markers) to
        ``write`` and return the code of the marker that ends the scan. Every byte is
        looked at, by a regular expression that skips stuffed zeros and restart
        markers in C: the scan is not decoded, only walked."""
        start = self._pos
        while True:
            found = _SCAN_END.search(self._buf, self._pos)
            if found is None:
                # No marker in what is buffered; a last 0xFF waits for its partner.
                end = len(self._buf) - (1 if self._buf.endswith(b"\xff") else 0)
                write(self._buf[start:end])
                self._pos = end
                if not self._fill(2):
                    raise _malformed("scan data truncated")
                start = self._pos
                continue
            i = found.start()
            write(self._buf[start:i])
            code = self._buf[i + 1]
            if code == 0xFF:  # fill byte before a marker
                self._pos = i + 1
                start = self._pos
                continue
            self._pos = i + 2
            return code


def _segment(code: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, code, len(payload) + 2) + payload


def _jfif(payload: bytes) -> bytes:
    """A JFIF header with the original's density and no thumbnail."""
    units, xd, yd = 0, 1, 1
    if len(payload) >= 12:
        units, xd, yd = struct.unpack(">BHH", payload[7:12])
        if units > 2 or xd == 0 or yd == 0:
            units, xd, yd = 0, 1, 1
    return b"JFIF\x00\x01\x01" + struct.pack(">BHHBB", units, xd, yd, 0, 0)


class _Parse:
    """What one pass over a JPEG found, and (when writing) the cleaned copy."""

    def __init__(self) -> None:
        self.found: set[Category] = set()
        self.orientation = 1
        self.jfif: bytes | None = None
        self.adobe_transform: int | None = None
        self.icc_chunks: dict[int, bytes] = {}
        self.size = (0, 0)
        self.components = 0


def _classify_app(code: int, payload: bytes, parse: _Parse) -> None:
    """Note what an application segment or comment carries."""
    if code == _COM:
        parse.found.add(Category.COMMENT)
    elif code == _APP0 and payload.startswith(b"JFIF\x00"):
        if parse.jfif is None:
            parse.jfif = payload
        if len(payload) >= 14 and payload[12] * payload[13] > 0:
            parse.found.add(Category.THUMBNAIL)
    elif code == _APP0 and payload.startswith(b"JFXX\x00"):
        parse.found.add(Category.THUMBNAIL)
    elif code == _APP1 and payload.startswith(EXIF_MAGIC):
        categories, orientation = exif_categories(payload[len(EXIF_MAGIC) :])
        parse.found |= categories
        if parse.orientation == 1:
            parse.orientation = orientation
    elif code == _APP1 and payload.startswith(_XMP_MAGICS):
        parse.found |= xmp_categories(payload)
    elif code == _APP2 and payload.startswith(_ICC_MAGIC) and len(payload) > 14:
        parse.icc_chunks.setdefault(payload[12], payload[14:])
    elif code == _APP2 and payload.startswith(b"MPF\x00"):
        parse.found.add(Category.THUMBNAIL)
    elif code == _APP13:
        parse.found.add(Category.IPTC)
    elif code == _APP14 and payload.startswith(b"Adobe") and len(payload) >= 12:
        parse.adobe_transform = payload[11]
    else:
        parse.found.add(Category.HIDDEN_DATA)


def _check_frame(payload: bytes, limits: Limits, parse: _Parse) -> None:
    if parse.components:
        raise _malformed("second frame header")
    if len(payload) < 6:
        raise _malformed("short frame header")
    _precision, height, width, components = struct.unpack(">BHHB", payload[:6])
    if width == 0 or height == 0:
        raise _malformed("zero or deferred dimensions")
    if components not in (1, 3, 4) or len(payload) != 6 + 3 * components:
        raise _malformed("bad component count")
    check_pixels(width, height, limits)
    parse.size = (width, height)
    parse.components = components


def _walk(
    stream: _Stream,
    limits: Limits,
    write: Callable[[bytes], object] | None = None,
    on_headers: Callable[[_Parse], object] | None = None,
) -> _Parse:
    """Read one JPEG image from SOI to EOI. With ``write``, the kept segments and scan
    data are passed to it; ``on_headers`` is called once, after the application
    segments and before the first table or frame, so the caller can emit the rebuilt
    headers there."""
    parse = _Parse()
    emit = write or (lambda _data: None)
    if stream.read(2) != b"\xff\xd8":
        raise _malformed("no start-of-image marker")
    headers_done = False
    scans = 0
    code = stream.next_marker()
    while True:
        if code == _EOI:
            break
        if code == _SOI or 0xD0 <= code <= 0xD7 or code == 0x01:
            raise _malformed("unexpected standalone marker")
        (length,) = struct.unpack(">H", stream.read(2))
        if length < 2:
            raise _malformed("bad segment length")
        payload = stream.read(length - 2)
        if 0xE0 <= code <= 0xEF or code == _COM:
            _classify_app(code, payload, parse)
            code = stream.next_marker()
            continue
        if not headers_done:
            headers_done = True
            _finish_headers(parse)
            if on_headers is not None:
                on_headers(parse)
        if code in _SOF:
            _check_frame(payload, limits, parse)
            emit(_segment(code, payload))
        elif code in _TABLES or code == _DNL:
            emit(_segment(code, payload))
        elif code == _SOS:
            if not parse.components:
                raise _malformed("scan before frame header")
            scans += 1
            if scans > _MAX_SCANS:
                raise Refusal(RefusalCode.TOO_LARGE, "too many scans")
            emit(_segment(code, payload))
            code = stream.copy_scan(emit)
            continue
        else:
            raise _malformed(f"unsupported marker 0x{code:02x}")
        code = stream.next_marker()
    if not scans:
        raise _malformed("no image data")
    _finish_headers(parse)  # again: profile chunks may (oddly) follow the tables
    emit(b"\xff\xd9")
    return parse


def _finish_headers(parse: _Parse) -> None:
    """Judge the reassembled colour profile once all application segments are read."""
    profile = _icc_profile(parse)
    if profile is not None and not icc.is_standard_profile(profile):
        parse.found.add(Category.ICC_PROFILE)


def _icc_profile(parse: _Parse) -> bytes | None:
    if not parse.icc_chunks:
        return None
    return b"".join(parse.icc_chunks[i] for i in sorted(parse.icc_chunks))


def _rebuilt_headers(parse: _Parse) -> bytes:
    out = b""
    if parse.jfif is not None:
        out += _segment(_APP0, _jfif(parse.jfif))
    if parse.orientation != 1:
        out += _segment(_APP1, orientation_exif(parse.orientation))
    profile = _icc_profile(parse)
    if profile is not None and icc.is_standard_profile(profile):
        canonical = icc.canonical_profile(profile)
        chunks = [canonical[i : i + _ICC_CHUNK] for i in range(0, len(canonical), _ICC_CHUNK)]
        for seq, chunk in enumerate(chunks, start=1):
            out += _segment(_APP2, _ICC_MAGIC + bytes([seq, len(chunks)]) + chunk)
    if parse.adobe_transform is not None:
        out += _segment(_APP14, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, parse.adobe_transform))
    return out


def _trailing_categories(stream: _Stream) -> set[Category]:
    head = stream.peek(3)
    if not head:
        return set()
    if head == b"\xff\xd8\xff":
        return {Category.THUMBNAIL}
    return {Category.HIDDEN_DATA}


class JpegCleaner(FormatCleaner):
    family = "jpeg"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.startswith(b"\xff\xd8\xff")

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        with open(src, "rb") as fh:
            stream = _Stream(fh, limits.chunk_size)
            parse = _walk(stream, limits)
            return parse.found | _trailing_categories(stream)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        with open(src, "rb") as fh, open(dst, "wb") as out:
            stream = _Stream(fh, limits.chunk_size)
            out.write(b"\xff\xd8")
            parse = _walk(stream, limits, out.write, lambda p: out.write(_rebuilt_headers(p)))
            removed = parse.found | _trailing_categories(stream)
        profile = _icc_profile(parse)
        if profile is not None and not icc.is_standard_profile(profile):
            # Its full decode proves the scans, as the reduced one would.
            _convert_to_srgb(dst, profile, parse.orientation)
        else:
            verify_decodes(dst, "JPEG", reduced=True)
        return Cleaned(Kind.IMAGE, "JPEG", "image/jpeg", "jpg", frozenset(removed))


def _convert_to_srgb(path: Path, profile: bytes, orientation: int) -> None:
    """Re-encode the cleaned copy at ``path`` with its colours converted from the
    device ``profile`` to sRGB: the one case where the scan data cannot be kept, as
    dropping the profile alone would shift the colours. The original's quantisation
    tables and subsampling are reused, so the loss is one careful re-encode. A profile
    littleCMS cannot use is simply dropped (already the case in the copy). The copy is
    decoded in full here, so scans that do not decode are refused as malformed."""
    with Image.open(path, formats=["JPEG"]) as image:
        assert isinstance(image, JpegImagePlugin.JpegImageFile)  # as the formats say
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
            raise _malformed(f"image data does not decode: {exc}") from exc
        qtables, sampling = image.quantization, JpegImagePlugin.get_sampling(image)
        progressive = bool(image.info.get("progressive"))
        try:
            converted = icc.to_srgb(image, profile)
        except ValueError:
            return
    options: dict[str, object] = {"qtables": qtables, "progressive": progressive}
    if sampling != -1:
        options["subsampling"] = sampling
    if orientation != 1:
        options["exif"] = orientation_exif(orientation)
    converted.save(path, "JPEG", **options)


CLEANER = JpegCleaner()
