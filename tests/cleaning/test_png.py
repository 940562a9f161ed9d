"""PNG/APNG cleaning: exiftool finds nothing identifying afterwards, the identifying
bytes are gone, and every frame decodes to the same pixels."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageSequence, PngImagePlugin

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file, icc
from portal.cleaning.png import CLEANER
from tests.cleaning import imagegen
from tests.corpus import corpus_file, corpus_params
from tests.exiftool_oracle import leaks, write_tags

PNG_CORPUS = corpus_params(".png")
DEFAULT_LIMITS = Limits()
SECRETS = [b"Jane Tipster", b"Secret note", b"PhoneCorp", b"private-payload", b"PK\x03\x04"]


def frames(path: Path) -> list[tuple[str, tuple[int, int], bytes, bytes]]:
    """Every frame as Pillow composes it: mode, size, raw pixels and RGBA pixels."""
    with Image.open(path) as image:
        return [
            (f.mode, f.size, f.tobytes(), f.convert("RGBA").tobytes())
            for f in ImageSequence.Iterator(image)
        ]


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, pos = [], 8
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        found.append((ctype, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return found


def chunk(ctype: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(ctype + payload)
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def insert_before_iend(data: bytes, extra: bytes) -> bytes:
    assert data.endswith(chunk(b"IEND", b""))
    return data[:-12] + extra + data[-12:]


clean = imagegen.runner("out.png")


def assert_clean(src: Path, out: Path, needles: list[bytes]) -> None:
    data = imagegen.assert_nothing_left(CLEANER, out, needles)
    assert frames(out) == frames(src)
    assert data.endswith(chunk(b"IEND", b""))


def identifying_values(src: Path) -> list[bytes]:
    """Values of the identifying tags exiftool reads in ``src`` that appear verbatim
    in its bytes (so a raw search of the output is meaningful)."""
    original = src.read_bytes()
    values = [leak.partition("=")[2].encode() for leak in leaks(src)]
    return [v for v in values if len(v) >= 5 and v in original]


@pytest.mark.corpus
@pytest.mark.parametrize("name", PNG_CORPUS)
def test_corpus_png(name: str, tmp_path: Path) -> None:
    src = corpus_file(name)
    needles = identifying_values(src)
    out, result = clean(src, tmp_path)
    assert (result.kind, result.format, result.mime, result.extension) == (
        "image",
        "PNG",
        "image/png",
        "png",
    )
    assert_clean(src, out, needles)


def test_corpus_dirty_png_strings_gone(tmp_path: Path) -> None:
    src = corpus_file("mat2_dirty.png")
    assert b"This is a comment, be careful!" in src.read_bytes()
    assert CLEANER.inspect(src, Limits()) >= {Category.COMMENT, Category.DATES}
    out, _ = clean(src, tmp_path)
    assert b"This is a comment" not in out.read_bytes()


@pytest.fixture
def tagged_png(tmp_path: Path) -> Path:
    """A PNG carrying text, XMP, EXIF with GPS and an orientation, tIME, a private
    chunk and a zip appended after IEND."""
    path = tmp_path / "tagged.png"
    image = Image.linear_gradient("L").resize((40, 30)).convert("RGB")
    image.save(path)
    write_tags(
        path,
        "-PNG:Comment=Secret note", "-PNG:Author=Jane Tipster",
        "-XMP-dc:Creator=Jane Tipster", "-EXIF:Make=PhoneCorp",
        "-EXIF:GPSLatitude=31.7619", "-EXIF:GPSLatitudeRef=N",
        "-EXIF:GPSLongitude=106.4850", "-EXIF:GPSLongitudeRef=W",
        "-EXIF:Orientation#=6", "-PNG:ModifyDate=2024:01:02 03:04:05",
    )  # fmt: skip
    data = insert_before_iend(path.read_bytes(), chunk(b"prVt", b"private-payload"))
    path.write_bytes(data + b"PK\x03\x04 appended archive with private-payload")
    return path


def test_tagged_png(tagged_png: Path, tmp_path: Path) -> None:
    found = CLEANER.inspect(tagged_png, Limits())
    assert found >= {
        Category.COMMENT,
        Category.AUTHOR,
        Category.XMP,
        Category.GPS,
        Category.MAKE_MODEL,
        Category.DATES,
        Category.HIDDEN_DATA,
    }
    assert leaks(tagged_png) != []
    out, result = clean(tagged_png, tmp_path)
    assert result.removed == frozenset(found)
    assert_clean(tagged_png, out, SECRETS)
    kept = [ctype for ctype, _ in chunks(out.read_bytes())]
    assert kept == [b"IHDR", b"eXIf", b"IDAT", b"IEND"]
    with Image.open(out) as image:
        assert dict(image.getexif()) == {0x0112: 6}  # the orientation survives alone


def test_apng_keeps_every_frame(tmp_path: Path) -> None:
    src = tmp_path / "anim.png"
    colours = [(255, 0, 0, 255), (0, 255, 0, 128), (0, 0, 255, 0), (9, 9, 9, 200)]
    images = [Image.new("RGBA", (24, 16), c) for c in colours]
    for i, image in enumerate(images):
        image.paste((i * 50, 10, 10, 255), (i * 4, 2, i * 4 + 6, 10))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Secret note")
    info.add_itxt("Author", "Jane Tipster", zip=True)
    images[0].save(
        src,
        save_all=True,
        append_images=images[1:],
        duration=[100, 200, 300, 400],
        loop=3,
        pnginfo=info,
        disposal=[0, 1, 2, 0],
        blend=[0, 1, 1, 0],
    )
    assert CLEANER.inspect(src, Limits()) == {Category.COMMENT, Category.AUTHOR}
    out, _ = clean(src, tmp_path)
    assert_clean(src, out, SECRETS)
    assert len(frames(out)) == 4
    with Image.open(out) as image:
        assert image.info["loop"] == 3
        durations = [f.info["duration"] for f in ImageSequence.Iterator(image)]
    assert durations == [100, 200, 300, 400]


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("1", {}),
        ("L", {"bits": 4}),
        ("P", {"transparency": 3}),
        ("LA", {}),
        ("I;16", {}),
        ("RGB", {"interlace": 1}),
        ("RGBA", {"interlace": 1}),
    ],
)
def test_pixel_layouts_survive(mode: str, options: dict, tmp_path: Path) -> None:
    src = tmp_path / "layout.png"
    image = Image.radial_gradient("L").resize((37, 23))
    image = image.convert("I").point(lambda v: v * 250) if mode == "I;16" else image
    image = image.convert(mode) if mode != "P" else image.quantize(16)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Secret note")
    image.save(src, pnginfo=info, **options)
    out, _ = clean(src, tmp_path)
    assert_clean(src, out, [b"Secret note"])


def profile_with_class(device_class: bytes) -> bytes:
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[12:16] = device_class
    profile[48:56] = b"TIPSCAN1"  # manufacturer and model of a personal device
    return bytes(profile)


def test_nonstandard_profile_is_converted(tmp_path: Path) -> None:
    profile = profile_with_class(b"scnr")
    assert not icc.is_standard_profile(profile)
    src = tmp_path / "scanner.png"
    image = Image.linear_gradient("L").resize((20, 20)).convert("RGB")
    image.save(src, icc_profile=profile)
    assert CLEANER.inspect(src, Limits()) == {Category.ICC_PROFILE}
    out, result = clean(src, tmp_path)
    assert Category.ICC_PROFILE in result.removed
    assert b"TIPSCAN1" not in out.read_bytes()
    assert leaks(out) == []
    with Image.open(out) as cleaned, Image.open(src) as original:
        assert cleaned.info["icc_profile"] == icc.srgb_profile()
        # The scanner profile has sRGB primaries, so converting changes little.
        difference = [
            abs(a - b)
            for a, b in zip(
                cleaned.convert("RGB").tobytes(), original.convert("RGB").tobytes(), strict=True
            )
        ]
        assert max(difference) <= 3


def test_standard_profile_becomes_canonical(tmp_path: Path) -> None:
    src = corpus_file("pillow_icc_profile.png")
    with Image.open(src) as image:
        original_profile = image.info["icc_profile"]
    assert icc.is_standard_profile(original_profile)
    assert b"Hewlett-Packard" in original_profile
    out, _ = clean(src, tmp_path)
    with Image.open(out) as image:
        assert image.info["icc_profile"] == icc.srgb_profile()


def test_appended_html_after_iend_is_dropped(tmp_path: Path) -> None:
    src = tmp_path / "polyglot.png"
    Image.new("RGB", (4, 4), "blue").save(src)
    body = src.read_bytes()
    src.write_bytes(body + b"<html><script>alert('private-payload')</script></html>")
    assert CLEANER.inspect(src, Limits()) == {Category.HIDDEN_DATA}
    out, _ = clean(src, tmp_path)
    assert out.read_bytes() == body


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "green").save(buffer, "PNG")
    return buffer.getvalue()


def refusal(data: bytes, tmp_path: Path, limits: Limits = DEFAULT_LIMITS) -> RefusalCode:
    src = tmp_path / "bad.png"
    src.write_bytes(data)
    with pytest.raises(Refusal) as caught:
        clean_file(src, tmp_path / "bad-out.png", limits)
    assert not (tmp_path / "bad-out.png").exists()
    return caught.value.code


def test_bad_crc_is_malformed(tmp_path: Path) -> None:
    data = bytearray(small_png())
    data[8 + 8 + 13] ^= 0xFF  # the IHDR CRC
    assert refusal(bytes(data), tmp_path) == RefusalCode.MALFORMED


def test_bad_crc_in_dropped_chunk_is_malformed(tmp_path: Path) -> None:
    data = insert_before_iend(small_png(), chunk(b"tEXt", b"Comment\x00hi")[:-1] + b"\x00")
    assert refusal(data, tmp_path) == RefusalCode.MALFORMED


@pytest.mark.parametrize("cut", [20, 40, -12, -3])
def test_truncated_is_malformed(cut: int, tmp_path: Path) -> None:
    assert refusal(small_png()[:cut], tmp_path) == RefusalCode.MALFORMED


def test_image_stream_cut_short_is_malformed(tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 64 * 3) * 32)  # half the rows
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
    assert refusal(data + chunk(b"IEND", b""), tmp_path) == RefusalCode.MALFORMED


def test_huge_dimensions_refused_without_allocating(tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 6, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    data += chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    tracemalloc.start()
    try:
        code = refusal(data, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == RefusalCode.TOO_LARGE
    assert peak < 4 * 1024 * 1024


def test_decompression_bomb_refused(tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 100, 100, 8, 0, 0, 0, 0)
    bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024), 9)  # 64 MiB for a 10 KB image
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bomb)
    tracemalloc.start()
    try:
        code = refusal(data + chunk(b"IEND", b""), tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == RefusalCode.TOO_LARGE
    assert peak < 8 * 1024 * 1024


def test_too_many_frames_refused(tmp_path: Path) -> None:
    src = tmp_path / "anim.png"
    images = [Image.new("RGB", (8, 8), (i * 60, 0, 0)) for i in range(4)]
    images[0].save(src, save_all=True, append_images=images[1:], duration=50)
    assert refusal(src.read_bytes(), tmp_path, Limits(max_frames=3)) == RefusalCode.TOO_LARGE
    out, _ = clean(src, tmp_path, Limits(max_frames=4))
    assert len(frames(out)) == 4


def test_unknown_critical_chunk_refused(tmp_path: Path) -> None:
    data = small_png()
    data = data[:33] + chunk(b"CgBI", b"\x50\x00\x20\x06") + data[33:]
    assert refusal(data, tmp_path) == RefusalCode.MALFORMED


def test_apng_sequence_out_of_order_is_malformed(tmp_path: Path) -> None:
    src = tmp_path / "anim.png"
    images = [Image.new("RGB", (8, 8), (i * 60, 0, 0)) for i in range(3)]
    images[0].save(src, save_all=True, append_images=images[1:], duration=50)
    found = chunks(src.read_bytes())
    rebuilt = b"\x89PNG\r\n\x1a\n"
    for ctype, payload in found:
        if ctype == b"fdAT" and payload[:4] == struct.pack(">I", 2):
            payload = struct.pack(">I", 7) + payload[4:]
        rebuilt += chunk(ctype, payload)
    assert refusal(rebuilt, tmp_path) == RefusalCode.MALFORMED


def test_nonstandard_profile_on_apng_keeps_frames(tmp_path: Path) -> None:
    src = tmp_path / "scanner-anim.png"
    images = [Image.new("RGBA", (20, 10), (i * 60, 50, 90, 255 - i * 60)) for i in range(3)]
    images[0].save(
        src,
        save_all=True,
        append_images=images[1:],
        duration=[40, 50, 60],
        loop=2,
        icc_profile=profile_with_class(b"scnr"),
    )
    out, result = clean(src, tmp_path)
    assert result.removed == {Category.ICC_PROFILE}
    assert leaks(out) == []
    with Image.open(out) as image:
        assert image.info["loop"] == 2
        assert image.info["icc_profile"] == icc.srgb_profile()
        durations = [f.info["duration"] for f in ImageSequence.Iterator(image)]
    assert durations == [40, 50, 60]


# --- one inflate proves the pixels; the re-inspection does not inflate again -------


def _png(width: int, height: int, rows: bytes, *, interlaced: bool = False) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_unknown_filter_type_in_any_row_is_malformed(tmp_path: Path) -> None:
    """The stream inflates to exactly the right size, but the last row starts with
    filter type 5: no decoder can unfilter it. Only the single inflate finds this now."""
    rows = bytearray(b"\x01" + b"\x10" * 32) * 32
    clean_file(_write(tmp_path / "ok.png", _png(32, 32, bytes(rows))), tmp_path / "ok-out.png")
    rows[31 * 33] = 5
    assert refusal(_png(32, 32, bytes(rows)), tmp_path) == RefusalCode.MALFORMED


def test_unknown_filter_type_in_a_later_interlace_pass_is_malformed(tmp_path: Path) -> None:
    size = 16
    rows = bytearray(sum((1 + w) * h for w, h in _adam7(size)))
    clean_file(_write(tmp_path / "i.png", _png(size, size, bytes(rows), interlaced=True)),
               tmp_path / "i-out.png")  # fmt: skip
    rows[-(1 + size)] = 7  # the first byte of the last row of the last pass
    data = _png(size, size, bytes(rows), interlaced=True)
    assert refusal(data, tmp_path) == RefusalCode.MALFORMED


def test_unknown_filter_type_in_an_apng_frame_is_malformed(tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    good = zlib.compress(b"\x00" * 9 * 8)
    bad = zlib.compress(b"\x00" * 9 * 7 + b"\x09" + b"\x00" * 8)
    control = struct.pack(">IIIIIHHBB", 1, 8, 8, 0, 0, 1, 10, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"acTL", struct.pack(">II", 2, 0))
        + chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 8, 8, 0, 0, 1, 10, 0, 0))
        + chunk(b"IDAT", good)
        + chunk(b"fcTL", control)
        + chunk(b"fdAT", struct.pack(">I", 2) + bad)
        + chunk(b"IEND", b"")
    )
    assert refusal(data, tmp_path) == RefusalCode.MALFORMED


def test_reinspection_without_inflating_still_reads_every_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net stays: a rebuild that smuggled a text chunk through, or wrote a
    broken CRC, is caught by the re-inspection of what was written."""
    src = _write(tmp_path / "src.png", small_png())
    real = type(CLEANER).rebuild

    def smuggling(self, data, parsed, limits):  # type: ignore[no-untyped-def]
        return insert_before_iend(
            real(self, data, parsed, limits), chunk(b"tEXt", b"Author\x00Jane")
        )

    monkeypatch.setattr(type(CLEANER), "rebuild", smuggling)
    with pytest.raises(Refusal) as caught:
        clean_file(src, tmp_path / "out.png")
    assert caught.value.code == RefusalCode.CLEANING_FAILED

    def breaking(self, data, parsed, limits):  # type: ignore[no-untyped-def]
        out = bytearray(real(self, data, parsed, limits))
        out[-20] ^= 0xFF  # inside the last IDAT's CRC or payload
        return bytes(out)

    monkeypatch.setattr(type(CLEANER), "rebuild", breaking)
    with pytest.raises(Refusal) as caught:
        clean_file(src, tmp_path / "out.png")
    assert caught.value.code == RefusalCode.CLEANING_FAILED
    assert not (tmp_path / "out.png").exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _adam7(size: int) -> list[tuple[int, int]]:
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
              (1, 0, 2, 2), (0, 1, 1, 2)]  # fmt: skip
    return [((size - x0 + dx - 1) // dx, (size - y0 + dy - 1) // dy) for x0, y0, dx, dy in passes]
