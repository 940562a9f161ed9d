"""WebP: rebuild the RIFF container from an allow-list of chunks, never re-encoding.

Kept byte for byte: the image bitstreams (VP8, VP8L), alpha (ALPH), the animation
header (ANIM) and frames (ANMF, whose own sub-chunks are filtered the same way).
VP8X is rewritten: reserved bits cleared, the ICC and EXIF flags set only when that
chunk is kept, XMP always cleared. Dropped: EXIF (a minimal copy holding only a
non-trivial Orientation survives), XMP, unknown chunks, and anything after the RIFF
end. RIFF sizes are recomputed and pad bytes written as zero.

Colour profiles follow :mod:`portal.cleaning.icc` as in the PNG module: a standard
profile is replaced by its canonical copy; a non-standard one forces a re-encode of
every frame in sRGB (lossless when the source was lossless, otherwise at high
quality, so this one branch is lossy), whose output goes through the same allow-list.

As for every image rebuilt from an allow-list (:mod:`portal.cleaning.rebuilt`), the
copied bitstreams are proven whole by decoding them. An animation is decoded frame by
frame, each frame's bitstream (with its alpha) as a WebP of its own, never composed on
the canvas; every frame's pixels and the canvas once are spent from the file's pixel
budget while parsing, before any decode.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from portal.cleaning import icc
from portal.cleaning.base import Category, Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.exif import embedded_exif
from portal.cleaning.pixels import check_pixels, verify_decodes
from portal.cleaning.rebuilt import RebuiltImageCleaner

_FLAG_ANIMATION, _FLAG_XMP, _FLAG_EXIF, _FLAG_ALPHA, _FLAG_ICC = 0x02, 0x04, 0x08, 0x10, 0x20
_BITSTREAMS = {b"VP8 ", b"VP8L"}
_FRAME_CHUNKS = {b"ALPH"} | _BITSTREAMS
_LOSSY_QUALITY = 95


def _malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)


def _chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes]]:
    """(fourcc, payload) for every chunk in ``data[start:end]``."""
    found = []
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise _malformed("truncated chunk header")
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        payload_end = pos + 8 + size
        if payload_end > end:
            raise _malformed("chunk runs past its container")
        found.append((fourcc, data[pos + 8 : payload_end]))
        pos = payload_end + (size & 1)
    if pos > end + 1:
        raise _malformed("chunk padding past its container")
    return found


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def _u24(data: bytes) -> int:
    return int.from_bytes(data[:3], "little")


def _bitstream_size(fourcc: bytes, payload: bytes) -> tuple[int, int]:
    if fourcc == b"VP8L":
        if len(payload) < 5 or payload[0] != 0x2F:
            raise _malformed("VP8L header")
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if len(payload) < 10 or payload[3:6] != b"\x9d\x01\x2a":
        raise _malformed("VP8 header")
    width, height = struct.unpack("<HH", payload[6:10])
    return width & 0x3FFF, height & 0x3FFF


@dataclass
class _Parsed:
    chunks: list[tuple[bytes, bytes]]  # kept, in order; VP8X and ICCP rewritten later
    categories: set[Category] = field(default_factory=set)
    flags: int = 0
    profile: bytes | None = None
    orientation: bytes | None = None
    frames: int = 1
    lossless: bool = False
    # An animation's frames, each as a WebP file of its own (none for a still).
    images: list[bytes] = field(default_factory=list)


def _spend_pixels(budget: Budget, size: tuple[int, int]) -> None:
    budget.spend(Resource.DECODED_PIXELS, size[0] * size[1], "pixels in all frames")


def _alone(bitstream: tuple[bytes, bytes], alpha: bytes | None, size: tuple[int, int]) -> bytes:
    """One frame's bitstream (and its ALPH chunk) as a still WebP of its own."""
    chunks = b""
    if alpha is not None:
        dims = (size[0] - 1).to_bytes(3, "little") + (size[1] - 1).to_bytes(3, "little")
        chunks = _chunk(b"VP8X", bytes([_FLAG_ALPHA, 0, 0, 0]) + dims) + _chunk(b"ALPH", alpha)
    body = b"WEBP" + chunks + _chunk(*bitstream)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _filter_frame(
    payload: bytes, parsed: _Parsed, limits: Limits, canvas: tuple[int, int], budget: Budget
) -> bytes:
    if len(payload) < 16:
        raise _malformed("ANMF header")
    x, y = _u24(payload[0:3]) * 2, _u24(payload[3:6]) * 2
    width, height = _u24(payload[6:9]) + 1, _u24(payload[9:12]) + 1
    if x + width > canvas[0] or y + height > canvas[1]:
        raise _malformed("frame outside the canvas")
    header = bytearray(payload[:16])
    header[15] &= 0x03  # blending and disposal; the rest is reserved
    kept = []
    bitstreams = 0
    alpha: bytes | None = None
    for fourcc, body in _chunks(payload, 16, len(payload)):
        if fourcc in _FRAME_CHUNKS:
            if fourcc in _BITSTREAMS:
                bitstreams += 1
                parsed.lossless |= fourcc == b"VP8L"
                size = _bitstream_size(fourcc, body)
                check_pixels(*size, limits)
                _spend_pixels(budget, size)
                parsed.images.append(_alone((fourcc, body), alpha, size))
            elif alpha is None:
                alpha = body
            kept.append(_chunk(fourcc, body))
        else:
            parsed.categories.add(Category.HIDDEN_DATA)
    if bitstreams != 1:
        raise _malformed("frame without exactly one bitstream")
    return bytes(header) + b"".join(kept)


def _parse(data: bytes, limits: Limits) -> _Parsed:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _malformed("not a WebP")
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = 8 + riff_size
    if end > len(data):
        raise _malformed("truncated")
    chunks = _chunks(data, 12, end)
    if not chunks:
        raise _malformed("no chunks")
    parsed = _Parsed(chunks=[])
    if end < len(data):
        parsed.categories.add(Category.HIDDEN_DATA)
    first, first_payload = chunks[0]
    if first in _BITSTREAMS:
        size = _bitstream_size(first, first_payload)
        check_pixels(*size, limits)
        _spend_pixels(Budget(limits), size)
        parsed.lossless = first == b"VP8L"
        parsed.chunks.append(chunks[0])
        if len(chunks) > 1:
            parsed.categories.add(Category.HIDDEN_DATA)
        return parsed
    if first != b"VP8X" or len(first_payload) != 10:
        raise _malformed("first chunk")
    parsed.flags = first_payload[0]
    canvas = _u24(first_payload[4:7]) + 1, _u24(first_payload[7:10]) + 1
    check_pixels(*canvas, limits)
    budget = Budget(limits)
    _spend_pixels(budget, canvas)  # the canvas every viewer composes on
    parsed.chunks.append(chunks[0])
    animated = bool(parsed.flags & _FLAG_ANIMATION)
    frames = bitstreams = 0
    for fourcc, payload in chunks[1:]:
        if fourcc == b"ICCP":
            if parsed.profile is not None:
                raise _malformed("two ICCP chunks")
            parsed.profile = payload
            if not icc.is_standard_profile(payload):
                parsed.categories.add(Category.ICC_PROFILE)
            parsed.chunks.append((fourcc, b""))  # the policy decides what goes here
        elif fourcc == b"EXIF":
            exif_found, minimal = embedded_exif(payload)
            parsed.categories |= exif_found
            if parsed.orientation is None:
                parsed.orientation = minimal
                if parsed.orientation is not None:
                    parsed.chunks.append((fourcc, parsed.orientation))
        elif fourcc == b"XMP ":
            if payload.strip(b"\x00 \t\r\n"):
                parsed.categories.add(Category.XMP)
        elif animated and fourcc == b"ANIM":
            if len(payload) != 6:
                raise _malformed("ANIM length")
            parsed.chunks.append((fourcc, payload))
        elif animated and fourcc == b"ANMF":
            frames += 1
            if frames > limits.max_frames:
                raise Refusal(RefusalCode.TOO_LARGE, "too many frames")
            kept = _filter_frame(payload, parsed, limits, canvas, budget)
            parsed.chunks.append((fourcc, kept))
        elif not animated and fourcc in _FRAME_CHUNKS:
            if fourcc in _BITSTREAMS:
                bitstreams += 1
                parsed.lossless = fourcc == b"VP8L"
                check_pixels(*_bitstream_size(fourcc, payload), limits)
            parsed.chunks.append((fourcc, payload))
        else:
            parsed.categories.add(Category.HIDDEN_DATA)
    if animated:
        if not frames or not any(fourcc == b"ANIM" for fourcc, _ in parsed.chunks):
            raise _malformed("animation without ANIM or frames")
        parsed.frames = frames
    elif bitstreams != 1:
        raise _malformed("no single image bitstream")
    return parsed


def _write(parsed: _Parsed, profile: bytes | None) -> bytes:
    body = bytearray(b"WEBP")
    for fourcc, payload in parsed.chunks:
        if fourcc == b"VP8X":
            flags = parsed.flags & (_FLAG_ALPHA | _FLAG_ANIMATION)
            if profile is not None:
                flags |= _FLAG_ICC
            if parsed.orientation is not None:
                flags |= _FLAG_EXIF
            payload = bytes([flags, 0, 0, 0]) + payload[4:10]
        elif fourcc == b"ICCP":
            if profile is None:
                continue
            payload = profile
        body += _chunk(fourcc, payload)
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


def _reencode_in_srgb(data: bytes, parsed: _Parsed, limits: Limits) -> bytes:
    """Decode every frame, convert it from its device profile to sRGB, and encode a new
    WebP carrying the canonical sRGB profile."""
    assert parsed.profile is not None
    with Image.open(io.BytesIO(data), formats=["WEBP"]) as image:
        if parsed.frames * image.width * image.height * 4 > limits.max_expanded_bytes:
            raise Refusal(RefusalCode.TOO_LARGE, "animation too large to convert colours")
        loop = image.info.get("loop", 0)
        frames, durations = icc.srgb_frames(image, parsed.profile)
    options: dict[str, object] = {"icc_profile": icc.srgb_profile()}
    if parsed.lossless:
        options["lossless"] = True
    else:
        options["quality"] = _LOSSY_QUALITY
    if parsed.orientation is not None:
        options["exif"] = parsed.orientation
    if parsed.frames > 1 or parsed.flags & _FLAG_ANIMATION:
        options.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", **options)
    return buffer.getvalue()


class WebpCleaner(RebuiltImageCleaner[_Parsed]):
    family = "webp"
    format_name = "WEBP"
    mime = "image/webp"
    extension = "webp"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"

    def parse(self, data: bytes, limits: Limits, *, prove_pixels: bool = True) -> _Parsed:
        return _parse(data, limits)

    def prove_decodes(self, data: bytes, parsed: _Parsed, limits: Limits) -> None:
        # A still is proven as it will be written (without its colour profile).
        for image in parsed.images or [_write(parsed, None)]:
            verify_decodes(image, "WEBP")

    def rebuild(self, data: bytes, parsed: _Parsed, limits: Limits) -> bytes:
        parsed, profile = icc.policy_for_copied_image(
            data, parsed, limits, reencode=_reencode_in_srgb, parse=_parse
        )
        return _write(parsed, profile)


CLEANER = WebpCleaner()
