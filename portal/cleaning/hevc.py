"""Decoding a HEIC's primary image with FFmpeg's HEVC decoder, for speed.

libheif (through pillow-heif) decodes a 12-megapixel iPhone photo in about 0.62 s of
CPU here; FFmpeg's HEVC decoder, which PyAV already brings for video, decodes the same
48 tiles in 0.33 s. HEVC decoding is exact, so both give the same YUV samples; what
differs is only the conversion to RGB, which the tests hold to within a level or two
of libheif's.

This module reads the HEIF item structure itself (``pitm``, ``iinf``, ``iloc``,
``iref``, ``iprp``) and handles the common case only: a primary item that is one
``hvc1`` image or a ``grid`` of ``hvc1`` tiles, with ``hvcC``, ``ispe``, ``colr``,
``pixi``, ``clap`` (on whole pixels), ``irot`` and ``imir`` properties (read as
libheif reads them), and no alpha plane. Anything else, or anything it does not
understand, returns None and the caller decodes with libheif as before: a fallback,
never a way around a check. The caller has already opened the file with libheif
(which reads the same structure, and whose size is checked against the limits)
before this runs, and the decoded picture must come out at the size libheif
reported. Tiles must cover the grid with less than a tile to spare, so a file cannot
make this decode more than the picture it shows.

A tile FFmpeg reports it could not decode whole makes this return None, and libheif
judges the file. Damage to the coded pixels that neither decoder stops at is
concealed by each in its own way, so there the two pictures differ, as they would
in two viewers: such a file was filed before too (libheif conceals as well), and
only its pixels are kept either way.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, cast

from PIL import Image

#: how much of the file's start holds the item structure (the meta box) at most
_HEAD = 1 << 20
#: properties this decoder knows; any other property marked essential on the primary
#: or on a tile sends the file to libheif
_KNOWN = {b"hvcC", b"ispe", b"colr", b"pixi", b"irot", b"imir", b"clap"}
#: at most this many tiles (a 12 MP iPhone photo has 48)
_MAX_TILES = 1024
#: auxiliary image types that carry an alpha plane
_ALPHA = (b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")
#: nclx matrix_coefficients -> the name swscale knows (unlisted: not handled here)
_MATRICES = {1: "ITU709", 5: "ITU601", 6: "ITU601", 9: "ITU624", 2: None}


class _Unhandled(Exception):
    """Not the common case: let libheif decode it."""


@dataclass
class _Item:
    kind: bytes = b""
    extents: list[tuple[int, int]] = field(default_factory=list)
    method: int = 0
    properties: list[tuple[bytes, bytes, bool]] = field(
        default_factory=list
    )  # type, body, essential
    tiles: list[int] = field(default_factory=list)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, body start, body end) of the boxes in ``data[start:end]``."""
    found = []
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if at + 16 > end:
                raise _Unhandled("box header")
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise _Unhandled("box size")
        found.append((kind, at + header, at + size))
        at += size
    return found


class _Reader:
    def __init__(self, data: bytes, at: int, end: int) -> None:
        self.data, self.at, self.end = data, at, end

    def take(self, size: int) -> int:
        if size == 0:
            return 0
        if self.at + size > self.end or size > 8:
            raise _Unhandled("field")
        value = int.from_bytes(self.data[self.at : self.at + size], "big")
        self.at += size
        return value

    def bytes(self, size: int) -> bytes:
        if self.at + size > self.end:
            raise _Unhandled("field")
        value = self.data[self.at : self.at + size]
        self.at += size
        return value


def _meta(head: bytes) -> dict[bytes, tuple[int, int]]:
    """The boxes in the ``meta`` box, which comes before the image data."""
    at = 0
    while at + 8 <= len(head):
        size, kind = struct.unpack_from(">I4s", head, at)
        if kind == b"meta":
            if size < 12 or at + size > len(head):
                raise _Unhandled("meta box")
            return _unique(_boxes(head, at + 12, at + size))
        if size < 8:
            raise _Unhandled("box before meta")
        at += size
    raise _Unhandled("no meta box at the start")


def _unique(boxes: list[tuple[bytes, int, int]]) -> dict[bytes, tuple[int, int]]:
    """Boxes by type. A type found twice is left to libheif: which copy counts is
    what a crafted file would play on."""
    found: dict[bytes, tuple[int, int]] = {}
    for kind, start, end in boxes:
        if kind in found:
            raise _Unhandled(f"two {kind!r} boxes")
        found[kind] = (start, end)
    return found


def _items(head: bytes, meta: dict[bytes, tuple[int, int]]) -> tuple[int, dict[int, _Item]]:
    items: dict[int, _Item] = {}

    def item(number: int) -> _Item:
        return items.setdefault(number, _Item())

    start, end = meta[b"pitm"]
    reader = _Reader(head, start, end)
    version = reader.take(1)
    reader.take(3)
    primary = reader.take(2 if version == 0 else 4)

    start, end = meta[b"iinf"]
    reader = _Reader(head, start, end)
    version = reader.take(1)
    reader.take(3)
    reader.take(2 if version == 0 else 4)
    for kind, body, stop in _boxes(head, reader.at, end):
        if kind != b"infe":
            continue
        info = _Reader(head, body, stop)
        version = info.take(1)
        info.take(3)
        if version < 2:
            raise _Unhandled("old item info")
        number = info.take(2 if version == 2 else 4)
        info.take(2)
        item(number).kind = info.bytes(4)

    start, end = meta[b"iloc"]
    reader = _Reader(head, start, end)
    version = reader.take(1)
    reader.take(3)
    sizes = reader.take(1)
    offset_size, length_size = sizes >> 4, sizes & 15
    sizes = reader.take(1)
    base_size, index_size = sizes >> 4, (sizes & 15 if version in (1, 2) else 0)
    for _ in range(reader.take(2 if version < 2 else 4)):
        entry = item(reader.take(2 if version < 2 else 4))
        if version in (1, 2):
            entry.method = reader.take(2) & 15
        if reader.take(2) != 0:
            raise _Unhandled("data in another file")
        base = reader.take(base_size)
        for _ in range(reader.take(2)):
            reader.take(index_size)
            offset = base + reader.take(offset_size)
            entry.extents.append((offset, reader.take(length_size)))

    if b"iref" in meta:
        start, end = meta[b"iref"]
        reader = _Reader(head, start, end)
        width = 2 if reader.take(1) == 0 else 4
        for kind, body, stop in _boxes(head, start + 4, end):
            ref = _Reader(head, body, stop)
            source = ref.take(width)
            targets = [ref.take(width) for _ in range(ref.take(2))]
            if kind == b"dimg":
                item(source).tiles = targets

    iprp = _unique(_boxes(head, *meta[b"iprp"]))
    properties = _boxes(head, *iprp[b"ipco"])
    start, end = iprp[b"ipma"]
    reader = _Reader(head, start, end)
    version = reader.take(1)
    flags = reader.take(3)
    for _ in range(reader.take(4)):
        entry = item(reader.take(2 if version < 1 else 4))
        for _ in range(reader.take(1)):
            value = reader.take(2 if flags & 1 else 1)
            top = 0x8000 if flags & 1 else 0x80
            index = value & (top - 1)
            if index == 0:
                continue
            if index > len(properties):
                raise _Unhandled("property index")
            kind, body, stop = properties[index - 1]
            entry.properties.append((kind, head[body:stop], bool(value & top)))
    return primary, items


def _has_alpha(items: dict[int, _Item]) -> bool:
    return any(
        kind == b"auxC" and body[4:].rstrip(b"\0").startswith(_ALPHA)
        for entry in items.values()
        for kind, body, _ in entry.properties
    )


def _data(fh: BinaryIO, head: bytes, meta: dict[bytes, tuple[int, int]], entry: _Item) -> bytes:
    """An item's bytes, from the file or from the ``idat`` box."""
    parts = []
    if entry.method == 1:
        start, end = meta.get(b"idat", (0, 0))
        for offset, length in entry.extents:
            if offset + length > end - start:
                raise _Unhandled("idat extent")
            parts.append(head[start + offset : start + offset + length])
    elif entry.method == 0:
        size = os.fstat(fh.fileno()).st_size
        for offset, length in entry.extents:
            if offset + length > size:
                raise _Unhandled("extent beyond the file")
            fh.seek(offset)
            piece = fh.read(length)
            if len(piece) != length or length == 0:
                raise _Unhandled("extent beyond the file")
            parts.append(piece)
    else:
        raise _Unhandled("construction method")
    return b"".join(parts)


def _property(entry: _Item, kind: bytes) -> bytes | None:
    for found, body, _ in entry.properties:
        if found == kind:
            return body
    return None


def _check_properties(entry: _Item) -> None:
    for kind, _, essential in entry.properties:
        if essential and kind not in _KNOWN:
            raise _Unhandled(f"essential {kind!r}")


def _colour(entry: _Item) -> tuple[str | None, bool | None]:
    """The matrix and range an ``nclx`` colour box names (None: the bitstream's)."""
    body = _property(entry, b"colr")
    if body is None or body[:4] != b"nclx":
        return None, None
    if len(body) < 11:
        raise _Unhandled("nclx")
    matrix = struct.unpack_from(">H", body, 8)[0]
    if matrix not in _MATRICES:
        raise _Unhandled(f"matrix {matrix}")
    return _MATRICES[matrix], bool(body[10] & 0x80)


def _decode_tile(
    config: bytes,
    data: bytes,
    size: tuple[int, int],
    colour: tuple[str | None, bool | None],
) -> Image.Image:
    """One tile, decoded on its own (a fresh decoder, as libheif decodes each tile:
    a tile cannot lean on another), and refused by FFmpeg before it allocates a
    picture larger than the tile says it is."""
    import av

    context = av.VideoCodecContext.create("hevc", "r")
    context.extradata = config
    context.thread_count = 1
    context.options = {"max_pixels": str(size[0] * size[1])}
    try:
        frames = context.decode(av.Packet(data))
    except av.error.FFmpegError as exc:
        raise _Unhandled("tile does not decode") from exc
    if len(frames) != 1 or frames[0].is_corrupt:
        raise _Unhandled("tile does not decode whole")
    frame = frames[0]
    if (frame.width, frame.height) != size:
        raise _Unhandled("tile of another size")
    matrix, full = colour
    if full is None:
        full = frame.color_range == 2  # the bitstream's own flag (AVCOL_RANGE_JPEG)
    rgb = frame.reformat(
        format="rgb0",  # Pillow's own layout for RGB: the picture maps with no copy
        src_colorspace=matrix,  # None: the bitstream's own
        src_color_range="JPEG" if full else "MPEG",
        threads=1,
    )
    plane = rgb.planes[0]
    # Over the frame's memory (the image holds on to it until the caller pastes it).
    pixels = cast(bytes, memoryview(plane))
    return Image.frombuffer("RGBX", size, pixels, "raw", "RGBX", plane.line_size, 1)


def decode_primary(path: Path, expected: tuple[int, int], max_pixels: int) -> Image.Image | None:
    """The primary image of the HEIC at ``path``, upright, as RGBX (RGB with a
    padding byte, which is how Pillow holds RGB, so no repacking); None when this
    module does not handle it (libheif will). ``expected`` is the size libheif
    reports for it, transformations applied; ``max_pixels`` bounds what is decoded
    (the picture before any crop, and all its tiles together)."""
    try:
        return _decode(path, expected, max_pixels)
    except Exception:  # whatever this path cannot take, libheif judges
        return None


_ROTATIONS = {
    1: Image.Transpose.ROTATE_90,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_270,
}
# As libheif reads imir: axis 0 turns the picture upside down, axis 1 left to right.
_MIRRORS = {0: Image.Transpose.FLIP_TOP_BOTTOM, 1: Image.Transpose.FLIP_LEFT_RIGHT}


def _decode(path: Path, expected: tuple[int, int], max_pixels: int) -> Image.Image:

    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
        meta = _meta(head)
        primary_id, items = _items(head, meta)
        primary = items[primary_id]
        if _has_alpha(items):
            raise _Unhandled("alpha")
        _check_properties(primary)
        if primary.kind == b"hvc1":
            tiles, columns, rows = [primary_id], 1, 1
            width, height = _ispe(primary)
        elif primary.kind == b"grid":
            tiles = primary.tiles
            descriptor = _data(fh, head, meta, primary)
            grid = _Reader(descriptor, 0, len(descriptor))
            grid.take(1)
            wide = grid.take(1) & 1
            rows, columns = grid.take(1) + 1, grid.take(1) + 1
            width, height = grid.take(4 if wide else 2), grid.take(4 if wide else 2)
            if len(tiles) != rows * columns or not 0 < len(tiles) <= _MAX_TILES:
                raise _Unhandled("grid")
        else:
            raise _Unhandled("primary item type")
        if width * height > max_pixels:
            raise _Unhandled("picture over the pixel budget")
        steps, upright = _transforms(primary, (width, height))
        if upright != expected:
            raise _Unhandled("size differs from libheif's")
        coded = [_coded_tile(items, number, primary) for number in tiles]  # (hvcC, size)
        tile_size = coded[0][1]
        if any(size != tile_size for _, size in coded):
            raise _Unhandled("tiles of several sizes")
        # Tiles cover the grid and overhang it by less than a tile, and all of them
        # together stay within the budget: nothing decoded is far from what is shown.
        over_x, over_y = columns * tile_size[0] - width, rows * tile_size[1] - height
        if not (0 <= over_x < tile_size[0] and 0 <= over_y < tile_size[1]):
            raise _Unhandled("tiles do not fit the grid")
        if len(tiles) * tile_size[0] * tile_size[1] > max_pixels:
            raise _Unhandled("tiles over the pixel budget")
        colour = _colour(primary)
        if colour == (None, None) and primary.kind == b"grid":
            colour = _colour(items[tiles[0]])
        # A lone quarter turn (phones' portrait photos) is made tile by tile, each
        # pasted where it lands: cheaper than turning the whole picture after.
        turn = steps[0][1] if len(steps) == 1 and steps[0][0] == "turn" else 0
        if turn:
            steps = []
        canvas = Image.new("RGBX", _turned((width, height), turn), None)  # all pasted over
        for position, (number, (config, _)) in enumerate(zip(tiles, coded, strict=True)):
            data = _data(fh, head, meta, items[number])
            picture = _decode_tile(config, data, tile_size, colour)
            row, column = divmod(position, columns)
            at = (column * tile_size[0], row * tile_size[1])
            if turn:
                picture = picture.transpose(_ROTATIONS[turn])
                at = _turned_corner(at, tile_size, (width, height), turn)
            canvas.paste(picture, at)
    image = _apply(canvas, steps)
    if image.size != expected:
        raise _Unhandled("size differs from libheif's")
    return image


def _coded_tile(
    items: dict[int, _Item], number: int, primary: _Item
) -> tuple[bytes, tuple[int, int]]:
    """A tile's decoder configuration and size, if it is a tile this path decodes."""
    tile = items.get(number)
    if tile is None or tile.kind != b"hvc1":
        raise _Unhandled("tile type")
    if tile is not primary:
        _check_properties(tile)
    config = _property(tile, b"hvcC")
    if config is None:
        raise _Unhandled("tile without hvcC")
    return config, _ispe(tile)


def _ispe(entry: _Item) -> tuple[int, int]:
    body = _property(entry, b"ispe")
    if body is None or len(body) < 12:
        raise _Unhandled("no ispe")
    width, height = struct.unpack_from(">II", body, 4)
    if not (width and height):
        raise _Unhandled("empty ispe")
    return width, height


_Step = tuple[str, int, tuple[int, int, int, int]]  # kind, angle or axis, crop box


def _transforms(entry: _Item, size: tuple[int, int]) -> tuple[list[_Step], tuple[int, int]]:
    """The crops (``clap``), quarter turns anticlockwise (``irot``) and mirrorings
    (``imir``) of an item, in the order it lists them, and the size they leave."""
    width, height = size
    steps: list[_Step] = []
    for kind, body, _ in entry.properties:
        if kind == b"irot" and body:
            steps.append(("turn", body[0] & 3, (0, 0, 0, 0)))
            if body[0] & 1:
                width, height = height, width
        elif kind == b"imir" and body:
            steps.append(("mirror", body[0] & 1, (0, 0, 0, 0)))
        elif kind == b"clap":
            box = _clean_aperture(body, width, height)
            steps.append(("crop", 0, box))
            width, height = box[2] - box[0], box[3] - box[1]
    return steps, (width, height)


def _clean_aperture(body: bytes, width: int, height: int) -> tuple[int, int, int, int]:
    """The box a ``clap`` property keeps of a ``width`` x ``height`` picture, when it
    falls on whole pixels (anything else is left to libheif)."""
    if len(body) < 32:
        raise _Unhandled("clap")
    wn, wd, hn, hd = struct.unpack_from(">IIII", body, 0)
    xn, xd, yn, yd = struct.unpack_from(">iIiI", body, 16)
    if not (wd and hd and xd and yd):
        raise _Unhandled("clap denominator")
    keep_w, keep_h = Fraction(wn, wd), Fraction(hn, hd)
    left = Fraction(xn, xd) + (width - keep_w) / 2
    top = Fraction(yn, yd) + (height - keep_h) / 2
    box = (left, top, left + keep_w, top + keep_h)
    if any(value.denominator != 1 for value in box):
        raise _Unhandled("clap off the pixel grid")
    x0, y0, x1, y1 = (int(value) for value in box)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise _Unhandled("clap outside the picture")
    return x0, y0, x1, y1


def _turned(size: tuple[int, int], turn: int) -> tuple[int, int]:
    return (size[1], size[0]) if turn % 2 else size


def _turned_corner(
    at: tuple[int, int], tile: tuple[int, int], picture: tuple[int, int], turn: int
) -> tuple[int, int]:
    """Where the top left corner of a tile at ``at`` lands once the picture is turned
    ``turn`` quarter turns anticlockwise (a tile overhanging the edge lands partly
    outside: paste clips it)."""
    (x, y), (tile_w, tile_h), (width, height) = at, tile, picture
    if turn == 1:
        return y, width - x - tile_w
    if turn == 2:
        return width - x - tile_w, height - y - tile_h
    return height - y - tile_h, x


def _apply(image: Image.Image, steps: list[_Step]) -> Image.Image:
    for kind, value, box in steps:
        if kind == "turn" and value:
            image = image.transpose(_ROTATIONS[value])
        elif kind == "mirror":
            image = image.transpose(_MIRRORS[value])
        elif kind == "crop":
            image = image.crop(box)
    return image
