"""TIFF cleaning: re-encoded as PNG, pixels unchanged (upright), nothing left for
exiftool, one page kept and the rest reported."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.tiff import CLEANER
from tests.cleaning import imagegen
from tests.corpus import corpus_file, corpus_params
from tests.exiftool_oracle import leaks, read_tags, write_tags

TIFF_CORPUS = corpus_params(".tif", ".tiff")
LIMITS = Limits()


write = imagegen.writer("in.tif")
clean = imagegen.runner("out.png", CLEANER)


def displayed(path: Path, page: int = 0) -> Image.Image:
    with Image.open(path) as image:
        image.seek(page)
        return ImageOps.exif_transpose(image)


def metadata_keys(path: Path) -> list[str]:
    """exiftool's tags other than the file system's and the PNG header's."""
    return [
        key
        for key in read_tags(path)
        if not key.startswith(("ExifTool:", "System:", "File:", "Composite:", "PNG:"))
    ]


@pytest.mark.corpus
@pytest.mark.parametrize("name", TIFF_CORPUS)
def test_corpus_tiff_is_cleaned(name, tmp_path):
    src = corpus_file(name)
    original_values = {
        v.strip()
        for k, v in read_tags(src).items()
        if isinstance(v, str)
        and len(v.strip()) >= 5
        and k.rpartition(":")[2] in {"Make", "Model", "SerialNumber", "Software", "Artist",
                                     "ImageDescription", "DateTimeOriginal", "ModifyDate"}
    }  # fmt: skip
    assert original_values or name != "mat2_dirty.tiff"
    out, result = clean(src, tmp_path)
    cleaned = out.read_bytes()
    assert leaks(out) == []
    assert [v for v in original_values if v.encode() in cleaned] == []
    assert (result.format, result.mime, result.extension) == ("TIFF", "image/png", "png")
    before, after = displayed(src), displayed(out)
    assert after.size == before.size
    assert after.convert("RGB").tobytes() == before.convert("RGB").tobytes()


def test_exiftool_tagged_tiff(tmp_path):
    src = write(tmp_path, imagegen.tiff_bytes())
    imagegen.tag_identifying(src, jpeg_comment=False)
    assert len(imagegen.found_values(src.read_bytes())) >= 10
    found = CLEANER.inspect(src, LIMITS)
    assert {
        Category.GPS,
        Category.MAKE_MODEL,
        Category.SERIAL,
        Category.AUTHOR,
        Category.SOFTWARE,
        Category.DATES,
        Category.XMP,
        Category.IPTC,
    } <= found
    out, result = clean(src, tmp_path)
    assert result.removed == frozenset(found)
    assert leaks(out) == []
    assert metadata_keys(out) == []
    assert imagegen.found_values(out.read_bytes()) == []
    assert displayed(out).tobytes() == displayed(src).tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_applied(orientation, tmp_path):
    src = write(tmp_path, imagegen.tiff_bytes((40, 24), orientation=orientation))
    out, _ = clean(src, tmp_path)
    before, after = displayed(src), displayed(out)
    assert after.size == before.size
    assert after.tobytes() == before.tobytes()
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert 0x0112 not in image.getexif()


@pytest.mark.parametrize(
    ("mode", "expected_mode"),
    [("1", "1"), ("L", "L"), ("RGB", "RGB"), ("RGBA", "RGBA"), ("I;16", "I;16")],
)
def test_lossless_modes(mode, expected_mode, tmp_path):
    image = imagegen.pattern((30, 20), "RGBA" if mode == "RGBA" else "RGB")
    if mode not in ("RGB", "RGBA"):
        image = (
            image.convert("L")
            if mode != "I;16"
            else image.convert("I").point(lambda v: v * 250).convert("I;16")
        )
        if mode == "1":
            image = image.convert("1")
    src = tmp_path / "in.tif"
    image.save(src, "TIFF", compression="tiff_deflate")
    out, _ = clean(src, tmp_path)
    with Image.open(src) as original, Image.open(out) as cleaned:
        assert cleaned.mode == expected_mode
        assert cleaned.tobytes() == original.tobytes()


def test_cmyk_becomes_rgb(tmp_path):
    src = write(tmp_path, imagegen.tiff_bytes(mode="CMYK"))
    out, _ = clean(src, tmp_path)
    with Image.open(src) as original, Image.open(out) as cleaned:
        assert cleaned.mode == "RGB"
        assert cleaned.tobytes() == original.convert("RGB").tobytes()


def test_multipage_keeps_first_full_page_and_reports_the_rest(tmp_path):
    pages = [imagegen.pattern((12, 8)), imagegen.pattern((48, 32)).rotate(180)]
    src = write(tmp_path, imagegen.tiff_bytes(extra_pages=pages))
    write_tags(src, "-IFD1:SubfileType=Reduced-resolution image")
    found = CLEANER.inspect(src, LIMITS)
    assert {Category.THUMBNAIL, Category.EMBEDDED} <= found
    out, result = clean(src, tmp_path)
    assert {Category.THUMBNAIL, Category.EMBEDDED} <= result.removed
    with Image.open(out) as image:
        assert getattr(image, "n_frames", 1) == 1
    assert displayed(out).tobytes() == displayed(src, 0).tobytes()


def test_thumbnail_first_keeps_the_full_resolution_page(tmp_path):
    # Like a DNG: the first directory is a small preview, the picture comes next.
    src = write(tmp_path, imagegen.tiff_bytes((12, 8), extra_pages=[imagegen.pattern((48, 32))]))
    write_tags(src, "-IFD0:SubfileType=Reduced-resolution image")
    out, result = clean(src, tmp_path)
    assert Category.THUMBNAIL in result.removed
    assert Category.EMBEDDED not in result.removed
    assert displayed(out).size == (48, 32)
    assert displayed(out).tobytes() == displayed(src, 1).tobytes()


def _with_dimensions(tiff: bytes, width: int, height: int) -> bytes:
    """Rewrite ImageWidth/ImageLength of the first directory (little-endian TIFF)."""
    assert tiff[:2] == b"II"
    data = bytearray(tiff)
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[entry : entry + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            if kind == 3:
                data[entry + 8 : entry + 12] = struct.pack("<HH", value, 0)
            else:
                data[entry + 8 : entry + 12] = struct.pack("<I", value)
    return bytes(data)


@pytest.mark.parametrize("side", [20000, 60000])
def test_huge_dimensions_are_refused_before_decoding(side, tmp_path):
    small = imagegen.tiff_bytes((16, 16), compression="raw")
    src = write(tmp_path, _with_dimensions(small, side, side))
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.TOO_LARGE
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("keep", [6, 100, -200])
def test_truncated_tiff_is_refused(keep, tmp_path):
    data = imagegen.tiff_bytes((64, 48), compression="raw")
    src = write(tmp_path, data[:keep])
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.MALFORMED


def test_page_without_a_width_is_malformed(tmp_path):
    """Found by the long fuzz run: a second page whose ImageWidth tag is missing made
    Pillow raise TypeError ("Missing dimensions") while the pages were counted."""
    data = bytearray(imagegen.tiff_bytes(extra_pages=[imagegen.pattern((24, 16))]))
    assert data[:2] == b"II"
    first = int.from_bytes(data[4:8], "little")
    count = int.from_bytes(data[first : first + 2], "little")
    second = int.from_bytes(data[first + 2 + 12 * count : first + 6 + 12 * count], "little")
    entry_count = int.from_bytes(data[second : second + 2], "little")
    entries = [second + 2 + 12 * i for i in range(entry_count)]
    (width,) = [e for e in entries if data[e : e + 2] == (256).to_bytes(2, "little")]
    data[width : width + 2] = (0x0FFF).to_bytes(2, "little")  # an unknown tag instead
    src = write(tmp_path, bytes(data))
    with pytest.raises(Refusal) as refused:
        clean_file(src, tmp_path / "out")
    assert refused.value.code is RefusalCode.MALFORMED, refused.value


def test_sniff_is_by_bytes():
    assert CLEANER.sniff(imagegen.tiff_bytes()[:4096], Path("photo.jpg"))
    assert CLEANER.sniff(b"MM\x00*\x00\x00\x00\x08", Path("x"))
    assert not CLEANER.sniff(b"\xff\xd8\xff\xe0", Path("x.tif"))


def test_registry_cleans_tiff_end_to_end(tmp_path):
    src = write(tmp_path, imagegen.tiff_bytes(orientation=8))
    imagegen.tag_identifying(src, jpeg_comment=False)
    dst = tmp_path / "filed.png"
    result = clean_file(src, dst)
    assert result.extension == "png"
    assert {Category.GPS, Category.AUTHOR, Category.SERIAL} <= result.removed
    assert leaks(dst) == []
    assert imagegen.found_values(dst.read_bytes()) == []
