"""PNG and APNG: rebuild the file from an allow-list of chunks, never re-encoding pixels.

Kept: the chunks that decide what the pixels look like (IHDR, PLTE, IDAT, IEND, tRNS,
gAMA, cHRM, sRGB, sBIT, bKGD, cICP, mDCv, cLLI) and the APNG animation chunks (acTL,
fcTL, fdAT), byte for byte. Dropped: text (tEXt, zTXt, iTXt), tIME, eXIf (except a
minimal copy holding only a non-trivial Orientation), pHYs, private and unknown
chunks, and everything after IEND (appended archives, polyglots).

Colour profiles follow :mod:`portal.cleaning.icc`: a standard profile is replaced by
its canonical copy; a non-standard one (which can name a device) forces the one
re-encode in this module: every frame is decoded, converted to sRGB and written
again by Pillow, and that output goes through the same allow-list.

Every chunk's CRC is checked, and sizes are checked before anything is decoded: each
frame's pixels are spent from the file's budget (:mod:`portal.cleaning.budget`) as its
header is met, so an animation of many large frames is refused as too complex before
its data is inflated, and a small file cannot make the cleaner decode gigapixels.

The compressed pixels are copied unchanged, so a corrupt image stream would otherwise
pass through. The one pass over the original proves every stream decodes: each is
inflated once, streaming, in bounded steps, and must yield exactly the bytes its image
holds (no more: a decompression bomb is refused rather than expanded) with a valid
filter type at the start of every row. Unfiltering cannot fail after that, so this is
all a PNG decoder checks, without composing any frame on the canvas. The re-inspection
of the cleaned copy (:meth:`PngCleaner.reinspect`) re-reads every chunk and its CRC
but does not inflate the streams proven here again.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from portal.cleaning import icc
from portal.cleaning.base import Category, Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.exif import embedded_exif
from portal.cleaning.pixels import check_pixels
from portal.cleaning.rebuilt import RebuiltImageCleaner

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Chunk types copied unchanged, with the payload lengths each may have (None: checked
# elsewhere). Fixed lengths stop a kept chunk from smuggling extra bytes.
_FIXED_LENGTHS = {
    b"gAMA": 4,
    b"cHRM": 32,
    b"sRGB": 1,
    b"cICP": 4,
    b"mDCv": 24,
    b"cLLI": 8,
    b"acTL": 8,
    b"fcTL": 26,
}
_KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"sBIT", b"bKGD", b"fdAT"} | set(
    _FIXED_LENGTHS
)
_TEXT = {b"tEXt", b"zTXt", b"iTXt"}
# Dropped without being worth a word on the receipt: they describe print size, a
# palette histogram, stereo layout or (ImageMagick's orNT) an orientation.
_DROPPED_QUIETLY = {b"pHYs", b"hIST", b"sTER", b"oFFs", b"sCAL", b"pCAL", b"vpAg", b"orNT"}
# Pre-standard EXIF chunk names written by old ImageMagick versions.
_LEGACY_EXIF = {b"exIf", b"zxIf"}

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_SBIT_LENGTHS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
_BKGD_LENGTHS = {0: 2, 2: 6, 3: 1, 4: 2, 6: 6}
_ADAM7 = (
    (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
    (0, 1, 1, 2),
)  # fmt: skip

_MAX_ICC = 16 * 1024 * 1024  # inflated iCCP limit; real profiles are kilobytes
_INFLATE_STEP = 1024 * 1024
_INPUT_SLICE = 64 * 1024


def _malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)


# --- PNG structure ---------------------------------------------------------------


@dataclass
class _Header:
    width: int
    height: int
    depth: int
    colour: int
    interlaced: bool

    def rows(self, width: int, height: int) -> list[tuple[int, int]]:
        """How one image of this size inflates: (row length, row count) for each pass
        (one pass unless interlaced); a row is a filter byte plus the packed pixels."""
        bits = self.depth * _CHANNELS[self.colour]
        if not self.interlaced:
            passes = [(width, height)]
        else:
            passes = [
                ((width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy)
                for x0, y0, dx, dy in _ADAM7
            ]
        return [(1 + (w * bits + 7) // 8, h) for w, h in passes if w > 0 and h > 0]

    def stream_size(self, width: int, height: int) -> int:
        """Bytes one image of this size inflates to."""
        return sum(length * count for length, count in self.rows(width, height))


@dataclass
class _Parsed:
    header: _Header
    chunks: list[tuple[bytes, bytes]]  # (type, payload) up to and including IEND
    categories: set[Category] = field(default_factory=set)
    profile: bytes | None = None  # inflated iCCP payload
    orientation: bytes | None = None  # minimal eXIf payload to keep
    frames: int = 1


_FILTER_TYPES = bytes(range(5))  # None, Sub, Up, Average, Paeth


class _StreamCheck:
    """Inflate one image stream (IDAT or one frame's fdAT data) in steps, refusing as
    soon as it yields more than the image can hold, anything follows its end, or a row
    starts with an unknown filter type. Nothing inflated is kept."""

    def __init__(self, rows: list[tuple[int, int]]) -> None:
        self.expected = sum(length * count for length, count in rows)
        # (first byte, row length, end) of each pass within the stream
        self.passes: list[tuple[int, int, int]] = []
        offset = 0
        for length, count in rows:
            self.passes.append((offset, length, offset + length * count))
            offset += length * count
        self.inflated = 0
        self.inflater = zlib.decompressobj()

    def _check_filters(self, out: bytes) -> None:
        """The filter-type bytes that fall in ``out``, the inflated bytes from offset
        ``self.inflated`` on, must all be known ones."""
        begin, end = self.inflated, self.inflated + len(out)
        for first, length, stop in self.passes:
            if stop <= begin or first >= end:
                continue
            row = first + -(-(max(begin, first) - first) // length) * length
            if row >= min(end, stop):
                continue
            filters = out[row - begin : min(end, stop) - begin : length]
            if filters.translate(None, _FILTER_TYPES):
                raise _malformed("unknown filter type")

    def feed(self, data: bytes) -> None:
        if self.inflater.eof:
            if data:
                raise Refusal(RefusalCode.MALFORMED, "data after the end of an image stream")
            return
        # Small input slices keep unconsumed_tail (copied on every call) small.
        view = memoryview(data)
        for start in range(0, len(view), _INPUT_SLICE):
            pending: bytes | memoryview = view[start : start + _INPUT_SLICE]
            while pending:
                try:
                    out = self.inflater.decompress(pending, _INFLATE_STEP)
                except zlib.error as exc:
                    raise _malformed("corrupt image stream") from exc
                if self.inflated + len(out) > self.expected:
                    raise Refusal(RefusalCode.TOO_LARGE, "image stream inflates beyond its size")
                self._check_filters(out)
                self.inflated += len(out)
                pending = self.inflater.unconsumed_tail
                if self.inflater.eof:
                    if pending or self.inflater.unused_data or start + _INPUT_SLICE < len(view):
                        raise _malformed("data after the end of an image stream")
                    return

    def finish(self) -> None:
        if not self.inflater.eof or self.inflated != self.expected:
            raise _malformed("image stream shorter than its image")


def _text_keyword_category(ctype: bytes, payload: bytes) -> set[Category]:
    keyword = payload.split(b"\x00", 1)[0].decode("latin-1").strip().lower()
    if keyword == "xml:com.adobe.xmp" or keyword == "raw profile type xmp":
        return {Category.XMP}
    if keyword.startswith("raw profile type"):
        kind = keyword.removeprefix("raw profile type").strip()
        if kind in ("exif", "app1"):
            raw = _raw_profile(ctype, payload)
            return embedded_exif(raw)[0] | {Category.EXIF} if raw else {Category.EXIF}
        if kind in ("iptc", "8bim"):
            return {Category.IPTC}
        if kind in ("icc", "icm"):
            return {Category.ICC_PROFILE}
        return {Category.HIDDEN_DATA}
    if keyword in ("author", "copyright", "disclaimer"):
        return {Category.AUTHOR}
    if keyword == "software":
        return {Category.SOFTWARE}
    if "date" in keyword or "time" in keyword:
        return {Category.DATES}
    return {Category.COMMENT}


def _raw_profile(ctype: bytes, payload: bytes) -> bytes | None:
    """The bytes of an ImageMagick "Raw profile type" text chunk (hex after a
    name line and a length line), or None if it cannot be read."""
    try:
        _keyword, rest = payload.split(b"\x00", 1)
        if ctype == b"zTXt":
            text = zlib.decompressobj().decompress(rest[1:], _MAX_ICC)
        elif ctype == b"iTXt":
            flag, rest = rest[0], rest[2:]
            _lang, _translated, text = rest.split(b"\x00", 2)
            if flag:
                text = zlib.decompressobj().decompress(text, _MAX_ICC)
        else:
            text = rest
        lines = text.decode("latin-1").split()
        return bytes.fromhex("".join(lines[2:]))[: int(lines[1])]
    except (ValueError, IndexError, zlib.error):
        return None


def _inflate_profile(payload: bytes) -> bytes:
    try:
        _name, rest = payload.split(b"\x00", 1)
        if not rest or rest[0] != 0:
            raise _malformed("unknown iCCP compression")
        inflater = zlib.decompressobj()
        profile = inflater.decompress(rest[1:], _MAX_ICC)
    except (ValueError, zlib.error) as exc:
        raise _malformed("corrupt iCCP") from exc
    if inflater.unconsumed_tail:
        raise Refusal(RefusalCode.TOO_LARGE, "colour profile inflates too far")
    return profile


def _parse_header(payload: bytes, limits: Limits) -> _Header:
    if len(payload) != 13:
        raise _malformed("IHDR length")
    width, height, depth, colour, method, filt, interlace = struct.unpack(">IIBBBBB", payload)
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise _malformed("IHDR dimensions")
    check_pixels(width, height, limits)
    if depth not in _DEPTHS.get(colour, ()) or method or filt or interlace > 1:
        raise _malformed("IHDR fields")
    return _Header(width, height, depth, colour, bool(interlace))


def _iter_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """(type, payload, offset after chunk) for every chunk, CRC checked, up to IEND."""
    pos = len(SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise _malformed("truncated before IEND")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if length >= 2**31 or end > len(data):
            raise _malformed("chunk runs past the end of the file")
        if not ctype.isalpha() or not ctype.isascii():
            raise _malformed("bad chunk type")
        payload = data[pos + 8 : end - 4]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(ctype + payload) != crc:
            raise _malformed("chunk CRC mismatch")
        yield ctype, payload, end
        if ctype == b"IEND":
            return
        pos = end


class _Checker:
    """Walks the chunks once, validating structure and sorting kept from dropped.
    With ``prove_pixels`` every image stream is inflated and checked as it comes."""

    def __init__(self, limits: Limits, prove_pixels: bool) -> None:
        self.limits = limits
        self.prove_pixels = prove_pixels
        self.budget = Budget(limits)
        self.header: _Header | None = None
        self.palette_entries = 0
        self.seen: set[bytes] = set()
        self.last: bytes = b""
        self.frames_declared: int | None = None
        self.frame_controls = 0
        self.stream: _StreamCheck | None = None
        self.stream_type: bytes = b""
        self.pending_frame: tuple[int, int] | None = None  # fcTL size awaiting its data
        self.sequence = 0  # the next fcTL/fdAT sequence number

    def _next_sequence(self, payload: bytes) -> None:
        (number,) = struct.unpack(">I", payload[:4])
        if number != self.sequence:
            raise _malformed("APNG sequence numbers out of order")
        self.sequence += 1

    def _close_stream(self) -> None:
        if self.stream is not None:
            if self.prove_pixels:
                self.stream.finish()
            self.stream = None

    def check(self, ctype: bytes, payload: bytes) -> None:
        header = self.header
        if header is None:
            if ctype != b"IHDR":
                raise _malformed("IHDR is not first")
            self.header = _parse_header(payload, self.limits)
            # The default image (IDAT) fills the canvas, whether or not it is a frame.
            self._spend_pixels(self.header.width, self.header.height)
            self.seen.add(ctype)
            self.last = ctype
            return
        if ctype == b"IHDR":
            raise _malformed("second IHDR")
        # A stream ends when a chunk of another type follows its data chunks.
        if self.stream is not None and ctype != self.stream_type:
            self._close_stream()
        length = _FIXED_LENGTHS.get(ctype)
        if length is not None and len(payload) != length:
            raise _malformed(f"{ctype.decode()} length")
        if ctype == b"PLTE":
            if len(payload) % 3 or not 0 < len(payload) <= 768 or header.colour in (0, 4):
                raise _malformed("PLTE")
            self.palette_entries = len(payload) // 3
        elif ctype == b"tRNS":
            allowed = {0: 2, 2: 6}.get(header.colour)
            if header.colour == 3:
                if len(payload) > self.palette_entries:
                    raise _malformed("tRNS longer than the palette")
            elif allowed is None or len(payload) != allowed:
                raise _malformed("tRNS")
        elif ctype == b"sBIT" and len(payload) != _SBIT_LENGTHS[header.colour]:
            raise _malformed("sBIT")
        elif ctype == b"bKGD" and len(payload) != _BKGD_LENGTHS[header.colour]:
            raise _malformed("bKGD")
        elif ctype == b"acTL":
            if b"IDAT" in self.seen or self.frames_declared is not None:
                raise _malformed("misplaced acTL")
            (frames,) = struct.unpack(">I", payload[:4])
            if frames == 0:
                raise _malformed("acTL without frames")
            if frames > self.limits.max_frames:
                raise Refusal(RefusalCode.TOO_LARGE, "too many frames")
            self.frames_declared = frames
        elif ctype == b"fcTL":
            self._frame_control(payload)
        elif ctype == b"IDAT":
            self._image_data(ctype, payload)
        elif ctype == b"fdAT":
            if len(payload) < 4:
                raise _malformed("fdAT length")
            self._next_sequence(payload)
            self._image_data(ctype, payload[4:])
        elif ctype == b"IEND":
            self._finish(payload)
        self.seen.add(ctype)
        self.last = ctype

    def _spend_pixels(self, width: int, height: int) -> None:
        self.budget.spend(Resource.DECODED_PIXELS, width * height, "pixels in all frames")

    def _frame_control(self, payload: bytes) -> None:
        header = self.header
        assert header is not None
        if self.frames_declared is None:
            raise _malformed("fcTL without acTL")
        self._next_sequence(payload)
        _seq, w, h, x, y, _num, _den, dispose, blend = struct.unpack(">IIIIIHHBB", payload)
        if not (w > 0 and h > 0 and x + w <= header.width and y + h <= header.height):
            raise _malformed("frame outside the canvas")
        if dispose > 2 or blend > 1:
            raise _malformed("fcTL operations")
        if b"IDAT" not in self.seen and (w, h, x, y) != (header.width, header.height, 0, 0):
            raise _malformed("first frame must fill the canvas")
        if self.pending_frame is not None:
            raise _malformed("fcTL without frame data")
        self.frame_controls += 1
        if self.frame_controls > self.frames_declared:
            raise _malformed("more frames than acTL declares")
        if b"IDAT" in self.seen:  # a frame before IDAT is the default image, counted
            self._spend_pixels(w, h)
        self.pending_frame = (w, h)

    def _image_data(self, ctype: bytes, data: bytes) -> None:
        header = self.header
        assert header is not None
        if self.stream is None:
            if ctype == b"IDAT":
                if b"IDAT" in self.seen:
                    raise _malformed("IDAT chunks not consecutive")
                if self.pending_frame is not None:
                    self.pending_frame = None
                rows = header.rows(header.width, header.height)
            else:
                if b"IDAT" not in self.seen:
                    raise _malformed("fdAT before IDAT")
                if self.pending_frame is None:
                    raise _malformed("fdAT without fcTL")
                rows = header.rows(*self.pending_frame)
                self.pending_frame = None
            self.stream = _StreamCheck(rows)
            self.stream_type = ctype
        if self.prove_pixels:
            self.stream.feed(data)

    def _finish(self, payload: bytes) -> None:
        if payload:
            raise _malformed("IEND has data")
        self._close_stream()
        if b"IDAT" not in self.seen:
            raise _malformed("no IDAT")
        if self.header and self.header.colour == 3 and not self.palette_entries:
            raise _malformed("palette image without PLTE")
        if self.frames_declared is not None and (
            self.frame_controls != self.frames_declared or self.pending_frame is not None
        ):
            raise _malformed("frame count does not match acTL")


def _parse(data: bytes, limits: Limits, *, prove_pixels: bool = True) -> _Parsed:
    if not data.startswith(SIGNATURE):
        raise _malformed("not a PNG")
    checker = _Checker(limits, prove_pixels)
    kept: list[tuple[bytes, bytes]] = []
    categories: set[Category] = set()
    profile: bytes | None = None
    orientation: bytes | None = None
    end = len(SIGNATURE)
    for ctype, payload, chunk_end in _iter_chunks(data):
        end = chunk_end
        checker.check(ctype, payload)
        if ctype in _KEPT:
            kept.append((ctype, payload))
        elif ctype == b"iCCP":
            if profile is not None or b"IDAT" in checker.seen:
                raise _malformed("misplaced iCCP")
            profile = _inflate_profile(payload)
            if not icc.is_standard_profile(profile):
                categories.add(Category.ICC_PROFILE)
            kept.append((ctype, b""))  # placeholder: the policy decides what goes here
        elif ctype in _LEGACY_EXIF:
            categories.add(Category.EXIF)
        elif ctype == b"eXIf":
            exif_found, minimal = embedded_exif(payload)
            categories |= exif_found
            if orientation is None and b"IDAT" not in checker.seen:
                orientation = minimal
                if orientation is not None:
                    kept.append((b"eXIf", orientation))
        elif ctype in _TEXT:
            categories |= _text_keyword_category(ctype, payload)
        elif ctype == b"tIME":
            categories.add(Category.DATES)
        elif ctype in _DROPPED_QUIETLY:
            pass
        elif ctype[0:1].isupper():
            # An unknown critical chunk changes how the image decodes (Apple's CgBI).
            raise _malformed("unknown critical chunk")
        else:
            categories.add(Category.HIDDEN_DATA)
    if end < len(data):
        categories.add(Category.HIDDEN_DATA)
    assert checker.header is not None
    return _Parsed(
        header=checker.header,
        chunks=kept,
        categories=categories,
        profile=profile,
        orientation=orientation,
        frames=checker.frames_declared or 1,
    )


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + ctype
        + payload
        + struct.pack(">I", zlib.crc32(ctype + payload))
    )


def _profile_chunk(profile: bytes) -> bytes:
    return b"ICC profile\x00\x00" + zlib.compress(profile, 9)


def _write(parsed: _Parsed, profile_payload: bytes | None) -> bytes:
    out = bytearray(SIGNATURE)
    for ctype, payload in parsed.chunks:
        if ctype == b"iCCP":
            if profile_payload is None:
                continue
            payload = profile_payload
        out += _chunk(ctype, payload)
    return bytes(out)


def _reencode_in_srgb(data: bytes, parsed: _Parsed, limits: Limits) -> bytes:
    """Decode every frame, convert it from its device profile to sRGB, and encode a new
    PNG (APNG when animated) carrying the canonical sRGB profile."""
    header = parsed.header
    assert parsed.profile is not None
    if parsed.frames * header.width * header.height * 4 > limits.max_expanded_bytes:
        raise Refusal(RefusalCode.TOO_LARGE, "animation too large to convert colours")
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        default_image = bool(image.info.get("default_image"))
        loop = image.info.get("loop", 0)
        frames, durations = icc.srgb_frames(image, parsed.profile)
    options: dict[str, object] = {"icc_profile": icc.srgb_profile()}
    if parsed.orientation is not None:
        options["exif"] = parsed.orientation
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=loop,
            default_image=default_image,
            disposal=0,
            blend=0,
        )
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", **options)
    return buffer.getvalue()


class PngCleaner(RebuiltImageCleaner[_Parsed]):
    family = "png"
    format_name = "PNG"
    mime = "image/png"
    extension = "png"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.startswith(SIGNATURE)

    def parse(self, data: bytes, limits: Limits, *, prove_pixels: bool = True) -> _Parsed:
        return _parse(data, limits, prove_pixels=prove_pixels)

    def prove_decodes(self, data: bytes, parsed: _Parsed, limits: Limits) -> None:
        """Nothing left to do: the parse inflated and checked every stream."""

    def rebuild(self, data: bytes, parsed: _Parsed, limits: Limits) -> bytes:
        parsed, profile = icc.policy_for_copied_image(
            data, parsed, limits, reencode=_reencode_in_srgb, parse=_parse
        )
        return _write(parsed, None if profile is None else _profile_chunk(profile))


CLEANER = PngCleaner()
