"""Images, text and media built to cost the cleaner as much as possible while staying
small: decode bombs within the per-frame pixel limit, long chat exports, phone speech
the muxer will not take as it is.

Every builder writes one file to the path it is given and returns nothing. ``CASES``
names every builder at full size, for bench/clean.py's hostile group (time and peak
memory per file against the budget). The PDF and Office cases live beside this in
``tests/cleaning/hostile.py`` (same interface); the bench takes both.

Built by hand, streaming, so that making a 100-megapixel PNG or a 32 MB text costs the
builder a few megabytes: what is big is what the cleaner must decode, not the file.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

# ------------------------------------------------------------------------------ PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _deflated_rows(width: int, height: int, value: int, channels: int) -> bytes:
    """zlib data for ``height`` identical rows (filter byte 0, then the pixels)."""
    row = b"\x00" + bytes([value]) * (width * channels)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    return b"".join(parts)


def big_png(path: Path, side: int = 10_000) -> None:
    """A ``side`` x ``side`` RGB PNG of one colour: 100 megapixels in about 300 KB."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = _deflated_rows(side, side, 0x40, 3)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def many_frame_apng(path: Path, side: int = 4_400, frames: int = 20) -> None:
    """An APNG of ``frames`` full-canvas frames, each within the per-frame pixel limit
    (about 19 megapixels), each a different grey: about 390 KB, 390 million pixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    out.append(_chunk(b"acTL", struct.pack(">II", frames, 0)))
    sequence = 0
    for number in range(frames):
        control = struct.pack(">IIIIIHHBB", sequence, side, side, 0, 0, 1, 10, 0, 0)
        out.append(_chunk(b"fcTL", control))
        sequence += 1
        data = _deflated_rows(side, side, (number * 12) % 256, 1)
        if number == 0:
            out.append(_chunk(b"IDAT", data))
        else:
            out.append(_chunk(b"fdAT", struct.pack(">I", sequence) + data))
            sequence += 1
    out.append(_chunk(b"IEND", b""))
    path.write_bytes(b"".join(out))


# ------------------------------------------------------------------------------ GIF


def _one_pixel_lzw() -> bytes:
    """LZW data (minimum code size 2) for one pixel of colour 1: clear, 1, end."""
    # codes of 3 bits, packed from the least significant bit: 4 (clear), 1, 5 (end)
    bits = 4 | (1 << 3) | (5 << 6)
    return bytes([2, 2, bits & 0xFF, bits >> 8, 0])


def gif_canvas_bomb(path: Path, side: int = 10_000, frames: int = 60) -> None:
    """A GIF whose canvas is ``side`` x ``side`` (100 megapixels) and whose ``frames``
    frames are one pixel each: about 1.4 KB. A decoder that composes every frame on
    the whole canvas pays 100 megapixels per frame."""
    out = [b"GIF89a", struct.pack("<HHBBB", side, side, 0x80, 0, 0), b"\x00\x00\x00\xff\xff\xff"]
    out.append(b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop forever
    for number in range(frames):
        out.append(b"!\xf9\x04\x04\x0a\x00\x00\x00")  # 0.1 s, keep the previous frame
        x, y = (number * 163) % side, (number * 97) % side
        out.append(b"," + struct.pack("<HHHHB", x, y, 1, 1, 0) + _one_pixel_lzw())
    out.append(b";")
    path.write_bytes(b"".join(out))


# ----------------------------------------------------------------------------- text

_CHAT_LINES = (
    "[12/03/24 21:04:{s:02d}] Juan Pérez: ya vi el camión en la garita, van {n} 😬\r\n",
    "[12/03/24 21:05:{s:02d}] Lupita: ¿segura? pregunta en la tienda de la esquina\r\n",
    "[12/03/24 21:06:{s:02d}] Juan Pérez: sí, placas de Chihuahua, se fueron al sur\r\n",
)


def _chat_lines() -> Iterator[str]:
    number = 0
    while True:
        for line in _CHAT_LINES:
            number += 1
            yield line.format(s=number % 60, n=number)


def chat_export(path: Path, megabytes: int = 24, marked: bool = False) -> None:
    """A WhatsApp-style chat export of ``megabytes`` MB (UTF-8, CRLF, accents and
    emoji); ``marked`` puts a zero-width pattern in every line, as a leaked copy
    marked for its reader carries."""
    target = megabytes * 1_000_000
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for number, line in enumerate(_chat_lines()):
            if marked:
                mark = "\u200b" if number % 2 else "\u200c\u2060"
                line = line.replace(": ", f":{mark} ", 1)
            fh.write(line)
            written += len(line.encode())
            if written >= target:
                return


# ---------------------------------------------------------------------------- media


def phone_3gp(path: Path) -> None:
    """A 3GP voice recording with ten AMR frames per sample (old Android recorders);
    its packets cannot be copied as they are."""
    import shutil
    import tempfile

    from tests.cleaning.mediagen import amr_3gp

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(amr_3gp(Path(tmp), seconds=60), path)


#: Every builder at full size, for the benchmark. Names end with the extension a
#: phone or a browser would give the file (the cleaner never looks at it).
CASES: dict[str, Callable[[Path], None]] = {
    "png-100-megapixels.png": big_png,
    "apng-20-frames.png": many_frame_apng,
    "gif-10000x10000-60-frames.gif": gif_canvas_bomb,
    "chat-24MB.txt": chat_export,
    "chat-32MB.txt": lambda path: chat_export(path, 32),
    "chat-24MB-marked.txt": lambda path: chat_export(path, 24, marked=True),
    "voice-60s-amr-10-per-sample.3gp": phone_3gp,
}
