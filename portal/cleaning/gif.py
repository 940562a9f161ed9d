"""GIF: rebuild the file block by block from an allow-list, never re-encoding pixels.

Kept: the header, the logical screen descriptor, colour tables, every image with its
LZW data (copied byte for byte), graphic control extensions and the NETSCAPE2.0
looping extension (both rewritten in canonical form, reserved bits cleared).
Dropped: comment and plain-text extensions, XMP, ICC and every other application
extension, unknown extensions, and anything after the trailer.

GIF pixels are palette indices, so a device colour profile is converted away by
converting the colour tables (global and local) to sRGB: the LZW data stays byte for
byte, and viewers assume sRGB once the profile is gone. A standard profile is dropped
as it is.

As for every image rebuilt from an allow-list (:mod:`portal.cleaning.rebuilt`), the
copied LZW data is proven whole by decoding it, frame by frame: each frame becomes a
GIF of its own (the frame alone on a screen of its size) for Pillow, so a one-pixel
frame on a 10000x10000 screen costs a one-pixel decode. Every frame's pixels and the
screen once are spent from the file's pixel budget while parsing, before any decode.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from portal.cleaning import icc
from portal.cleaning.base import Category, Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.pixels import check_pixels, verify_decodes
from portal.cleaning.rebuilt import RebuiltImageCleaner

_HEADERS = (b"GIF87a", b"GIF89a")
_IMAGE, _EXTENSION, _TRAILER = 0x2C, 0x21, 0x3B
_GRAPHIC_CONTROL, _COMMENT, _PLAIN_TEXT, _APPLICATION = 0xF9, 0xFE, 0x01, 0xFF
_LOOPING_APPS = {b"NETSCAPE2.0", b"ANIMEXTS1.0"}
_XMP_APP = b"XMP DataXMP"
_ICC_APP = b"ICCRGBG1012"


def _malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise _malformed("truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def sub_blocks(self) -> list[bytes]:
        """Data sub-blocks up to their zero-length terminator."""
        blocks = []
        while size := self.byte():
            blocks.append(self.take(size))
        return blocks

    def skip_sub_blocks(self) -> bytes:
        """The raw bytes of a run of sub-blocks, terminator included."""
        start = self.pos
        while size := self.byte():
            self.take(size)
        return self.data[start : self.pos]


@dataclass
class _Frame:
    """Where one image's parts sit in the original file, to decode it on its own."""

    width: int
    height: int
    packed: int  # the image descriptor's flags (interlace, local table)
    table: tuple[int, int]  # its local colour table's span (empty without one)
    pixels: tuple[int, int]  # its LZW code size and data sub-blocks, terminator included


@dataclass
class _Parsed:
    output: bytearray
    categories: set[Category] = field(default_factory=set)
    frames: int = 0
    # Where each colour table sits in ``output`` (start, end).
    tables: list[tuple[int, int]] = field(default_factory=list)
    device_profile: bytes | None = None  # the first non-standard ICC profile
    screen: bytes = b""  # the logical screen descriptor, as in the original
    global_table: tuple[int, int] = (13, 13)
    images: list[_Frame] = field(default_factory=list)


def _colour_table_size(packed: int) -> int:
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _spend_pixels(budget: Budget, width: int, height: int) -> None:
    budget.spend(Resource.DECODED_PIXELS, width * height, "pixels in all frames")


def _parse(data: bytes, limits: Limits) -> _Parsed:
    reader = _Reader(data)
    header = reader.take(6)
    if header not in _HEADERS:
        raise _malformed("not a GIF")
    screen = reader.take(7)
    width, height = struct.unpack("<HH", screen[:4])
    check_pixels(width, height, limits)
    budget = Budget(limits)
    _spend_pixels(budget, width, height)  # the canvas every viewer composes on
    out = bytearray(header + screen + reader.take(_colour_table_size(screen[4])))
    parsed = _Parsed(out, screen=screen, global_table=(13, reader.pos))
    if len(out) > 13:
        parsed.tables.append((13, len(out)))
    control: bytes | None = None  # a graphic control block waiting for its image
    looping_written = False
    while True:
        introducer = reader.byte()
        if introducer == _TRAILER:
            break
        if introducer == _IMAGE:
            descriptor = bytearray(reader.take(9))
            x, y, w, h = struct.unpack("<HHHH", descriptor[:8])
            # Decoders grow the canvas to hold a frame placed beyond the screen.
            width, height = max(width, x + w), max(height, y + h)
            check_pixels(width, height, limits)
            parsed.frames += 1
            if parsed.frames > limits.max_frames:
                raise Refusal(RefusalCode.TOO_LARGE, "too many frames")
            _spend_pixels(budget, w, h)
            descriptor[8] &= 0xE7  # two reserved bits
            table_start = reader.pos
            table = reader.take(_colour_table_size(descriptor[8]))
            code_start = reader.pos
            code_size = reader.take(1)
            if not 1 <= code_size[0] <= 11:
                raise _malformed("LZW code size")
            pixels = reader.skip_sub_blocks()
            parsed.images.append(
                _Frame(
                    w,
                    h,
                    descriptor[8],
                    (table_start, code_start),
                    (code_start, reader.pos),
                )
            )
            out += (control or b"") + b"\x2c" + descriptor
            if table:
                parsed.tables.append((len(out), len(out) + len(table)))
            out += table + code_size + pixels
            control = None
        elif introducer == _EXTENSION:
            label = reader.byte()
            blocks = reader.sub_blocks()
            if label == _GRAPHIC_CONTROL:
                if len(blocks) != 1 or len(blocks[0]) != 4:
                    raise _malformed("graphic control extension")
                packed, delay, transparent = struct.unpack("<BHB", blocks[0])
                control = struct.pack(
                    "<BBBBHBB", 0x21, 0xF9, 4, packed & 0x1F, delay, transparent, 0
                )
            elif label == _APPLICATION:
                looping_written |= _application(blocks, parsed, out, looping_written)
            elif label == _PLAIN_TEXT:
                # Text drawn over the image: a comment by another name. It consumes
                # the graphic control block that preceded it.
                parsed.categories.add(Category.COMMENT)
                control = None
            elif label == _COMMENT:
                if any(block.strip(b"\x00 ") for block in blocks):
                    parsed.categories.add(Category.COMMENT)
            else:
                parsed.categories.add(Category.HIDDEN_DATA)
        else:
            raise _malformed("unknown block")
    if parsed.frames == 0:
        raise _malformed("no image")
    if reader.pos < len(data):
        parsed.categories.add(Category.HIDDEN_DATA)
    out += b"\x3b"
    return parsed


def _application(blocks: list[bytes], parsed: _Parsed, out: bytearray, written: bool) -> bool:
    """Handle one application extension; True if it was written as the looping one."""
    if not blocks:
        raise _malformed("empty application extension")
    ident, body = blocks[0], blocks[1:]
    if ident in _LOOPING_APPS:
        loop = next((b for b in body if len(b) == 3 and b[0] == 1), None)
        if loop is None or written:
            return False
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + loop[1:] + b"\x00"
        return True
    if ident == _XMP_APP:
        parsed.categories.add(Category.XMP)
    elif ident == _ICC_APP:
        profile = b"".join(body)
        if not icc.is_standard_profile(profile):
            parsed.categories.add(Category.ICC_PROFILE)
            if parsed.device_profile is None:
                parsed.device_profile = profile
    else:
        parsed.categories.add(Category.HIDDEN_DATA)
    return False


def _convert_colour_tables(parsed: _Parsed) -> None:
    """Convert every colour table in ``parsed.output`` from its device profile to sRGB,
    in place. All tables go through littleCMS as one 1xN RGB image. A profile that
    cannot be used for RGB colours is left unconverted (it is dropped all the same)."""
    if parsed.device_profile is None or not parsed.tables:
        return
    out = parsed.output
    colours = b"".join(out[start:end] for start, end in parsed.tables)
    palette = Image.frombytes("RGB", (len(colours) // 3, 1), colours)
    converted, srgb_profile = icc.prepare_for_save(palette, parsed.device_profile)
    if srgb_profile is None:
        return  # a profile littleCMS cannot use, or not one for RGB colours
    srgb = converted.tobytes()
    offset = 0
    for start, end in parsed.tables:
        out[start:end] = srgb[offset : offset + end - start]
        offset += end - start


class GifCleaner(RebuiltImageCleaner[_Parsed]):
    family = "gif"
    format_name = "GIF"
    mime = "image/gif"
    extension = "gif"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head[:6] in _HEADERS

    def parse(self, data: bytes, limits: Limits, *, prove_pixels: bool = True) -> _Parsed:
        return _parse(data, limits)

    def prove_decodes(self, data: bytes, parsed: _Parsed, limits: Limits) -> None:
        global_table = data[slice(*parsed.global_table)]
        for frame in parsed.images:
            if not frame.width or not frame.height:
                continue  # nothing to decode, nothing a viewer shows
            screen = struct.pack("<HH", frame.width, frame.height) + parsed.screen[4:]
            descriptor = struct.pack("<HHHHB", 0, 0, frame.width, frame.height, frame.packed)
            alone = (
                b"GIF89a" + screen + global_table + b"\x2c" + descriptor
                + data[slice(*frame.table)] + data[slice(*frame.pixels)] + b"\x3b"
            )  # fmt: skip
            verify_decodes(alone, "GIF")

    def rebuild(self, data: bytes, parsed: _Parsed, limits: Limits) -> bytes:
        _convert_colour_tables(parsed)
        return bytes(parsed.output)


CLEANER = GifCleaner()
