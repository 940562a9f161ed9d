"""HEIC/HEIF/AVIF cleaning: the primary image alone, upright, re-encoded as JPEG (PNG
with transparency), with nothing left for exiftool."""

from __future__ import annotations

import io
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file, icc
from portal.cleaning.heif import CLEANER
from portal.cleaning.jpeg import CLEANER as JPEG_CLEANER
from tests.cleaning import imagegen
from tests.corpus import corpus_file, corpus_params
from tests.exiftool_oracle import leaks, read_tags

HEIF_CORPUS = corpus_params(".heic", ".heif", ".avif")
LIMITS = Limits()


write = imagegen.writer("in.heic")
clean = imagegen.runner("out.img", CLEANER)


def decoded_original(src: Path) -> Image.Image:
    """The original as a viewer shows it: pillow-heif for HEVC, Pillow for AV1."""
    if src.read_bytes()[8:12] in (b"avif", b"avis"):
        with Image.open(src) as image:
            return ImageOps.exif_transpose(image).convert("RGB")
    heif = pillow_heif.open_heif(src)
    return ImageOps.exif_transpose(heif[heif.primary_index].to_pillow()).convert("RGB")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def assert_same_picture(cleaned: Image.Image, original: Image.Image) -> None:
    """Equal up to lossy re-encoding: far closer to the original than the original
    turned upside down is."""
    assert cleaned.size == original.size
    error = mean_difference(cleaned, original)
    assert error < 12
    assert error < mean_difference(original.rotate(180), original) / 4


@pytest.mark.corpus
@pytest.mark.parametrize("name", HEIF_CORPUS)
def test_corpus_heif_is_cleaned(name, tmp_path):
    src = corpus_file(name)
    values = {
        v.strip()
        for k, v in read_tags(src).items()
        if isinstance(v, str)
        and len(v.strip()) >= 5
        and k.rpartition(":")[2]
        in {"Make", "Model", "Software", "Artist", "Creator", "LensModel", "DateTimeOriginal",
            "ContentIdentifier", "Description", "Title", "HostComputer"}
    }  # fmt: skip
    out, result = clean(src, tmp_path)
    cleaned = out.read_bytes()
    assert leaks(out) == []
    assert [v for v in values if v.encode() in cleaned] == []
    assert result.mime == "image/jpeg" and result.extension == "jpg"
    assert JPEG_CLEANER.inspect(out, LIMITS) == set()
    original = decoded_original(src)
    with Image.open(out) as image:
        assert_same_picture(image.convert("RGB"), original)


@pytest.mark.corpus
def test_iphone_auxiliary_images_are_reported():
    found = CLEANER.inspect(corpus_file("ianare_iphone_13_pro_max.HEIC"), LIMITS)
    assert {Category.THUMBNAIL, Category.EMBEDDED, Category.MAKE_MODEL} <= found


def test_naive_pillow_heif_save_leaks_and_the_cleaner_does_not(tmp_path):
    exif = imagegen.identifying_exif()
    src = write(tmp_path, imagegen.heic_bytes(exif=exif, xmp=imagegen.identifying_xmp()))
    # What a naive "decode and save again" does: pillow-heif carries EXIF (GPS
    # included) and XMP over from image.info. The oracle must see it...
    image = pillow_heif.open_heif(src)[0].to_pillow()
    naive = tmp_path / "naive.heic"
    pillow_heif.from_pillow(image).save(naive, format="HEIF")
    naive_leaks = " ".join(leaks(naive))
    assert "GPS" in naive_leaks and "XMP" in naive_leaks
    # ... and find nothing in the cleaner's output.
    found = CLEANER.inspect(src, LIMITS)
    assert {Category.GPS, Category.MAKE_MODEL, Category.AUTHOR, Category.XMP} <= found
    out, result = clean(src, tmp_path)
    assert result.removed == frozenset(found)
    assert leaks(out) == []
    assert imagegen.found_values(out.read_bytes()) == []
    assert not [k for k in read_tags(out) if k.startswith(("IFD", "XMP", "GPS", "ExifIFD"))]


def test_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    src = write(tmp_path, imagegen.heic_bytes((40, 24), exif=exif.tobytes()))
    out, _ = clean(src, tmp_path)
    original = decoded_original(src)
    assert original.size == (24, 40)  # pillow-heif turned it upright
    with Image.open(out) as image:
        assert image.getexif().get(0x0112) is None
        upright = ImageOps.exif_transpose(image).convert("RGB")
    assert_same_picture(upright, original)


def test_only_the_primary_image_survives(tmp_path):
    heif = pillow_heif.from_pillow(imagegen.pattern((64, 48)))
    secret = Image.new("RGB", (32, 24), (0, 255, 0))
    heif.add_from_pillow(secret)
    buffer = io.BytesIO()
    heif.save(buffer, format="HEIF", quality=90)
    src = write(tmp_path, buffer.getvalue())
    assert len(pillow_heif.open_heif(src)) == 2
    assert Category.THUMBNAIL in CLEANER.inspect(src, LIMITS)
    out, _ = clean(src, tmp_path)
    with Image.open(out) as image:
        assert image.size == (64, 48)
        assert getattr(image, "n_frames", 1) == 1
        assert_same_picture(image.convert("RGB"), decoded_original(src))


def test_alpha_becomes_png(tmp_path):
    src = write(tmp_path, imagegen.heic_bytes((32, 24), mode="RGBA"))
    out, result = clean(src, tmp_path)
    assert (result.mime, result.extension) == ("image/png", "png")
    expected = pillow_heif.open_heif(src)[0].to_pillow()
    with Image.open(out) as image:
        assert image.format == "PNG" and image.mode == "RGBA"
        assert image.getchannel("A").tobytes() == expected.getchannel("A").tobytes()
    assert leaks(out) == []


def test_display_p3_profile_is_kept_as_canonical_copy(tmp_path):
    p3 = imagegen.icc_profile_named("Display P3", creator=b"appl")
    src = write(tmp_path, imagegen.heic_bytes(icc_profile=p3))
    assert pillow_heif.open_heif(src).info.get("icc_profile") == p3
    out, _ = clean(src, tmp_path)
    with Image.open(out) as image:
        assert image.info["icc_profile"] == icc.canonical_profile(p3)
    assert b"appl" not in out.read_bytes()


def test_avif_with_metadata(tmp_path):
    buffer = io.BytesIO()
    imagegen.pattern((40, 30)).save(
        buffer, "AVIF", exif=imagegen.identifying_exif(), xmp=imagegen.identifying_xmp()
    )
    src = write(tmp_path, buffer.getvalue(), "in.avif")
    assert leaks(src)
    found = CLEANER.inspect(src, LIMITS)
    assert {Category.GPS, Category.XMP} <= found
    out, result = clean(src, tmp_path)
    assert result.format == "AVIF" and result.mime == "image/jpeg"
    assert leaks(out) == []
    assert imagegen.found_values(out.read_bytes()) == []


def test_avif_whose_pixels_do_not_decode_is_malformed(tmp_path):
    """Found by the fuzz test: Pillow's AVIF decoder raises RuntimeError for damaged
    AV1 data, which crashed the cleaner instead of refusing the file as damaged."""
    buffer = io.BytesIO()
    imagegen.pattern((40, 30)).save(buffer, "AVIF")
    data = buffer.getvalue()
    start = data.index(b"mdat") + 4
    damaged = None
    for position in range(start, len(data)):  # the first flip the decoder rejects
        candidate = bytearray(data)
        candidate[position] ^= 0xFF
        try:
            with Image.open(io.BytesIO(candidate)) as image:
                image.load()
        except RuntimeError:
            damaged = bytes(candidate)
            break
        except OSError:
            continue
    assert damaged is not None, "no flipped byte made the AV1 decoder fail"
    src = write(tmp_path, damaged, "in.avif")
    with pytest.raises(Refusal) as refused:
        clean_file(src, tmp_path / "out")
    assert refused.value.code is RefusalCode.MALFORMED, refused.value


def test_avif_whose_structure_the_decoder_rejects_is_malformed(tmp_path):
    """Found by the long fuzz run: Pillow raises RuntimeError ("Missing or empty
    image item") from Image.open itself for a damaged AVIF header."""
    buffer = io.BytesIO()
    imagegen.pattern((40, 30)).save(buffer, "AVIF")
    data = buffer.getvalue()
    damaged = None
    for position in range(data.index(b"mdat")):  # the first flip Image.open rejects so
        candidate = bytearray(data)
        candidate[position] ^= 0x01
        try:
            Image.open(io.BytesIO(candidate), formats=["AVIF"]).close()
        except RuntimeError:
            damaged = bytes(candidate)
            break
        except Exception:  # noqa: S112 (other damage: not the case under test)
            continue
    assert damaged is not None, "no flipped byte made the AVIF decoder fail to open"
    src = write(tmp_path, damaged, "in.avif")
    with pytest.raises(Refusal) as refused:
        clean_file(src, tmp_path / "out")
    assert refused.value.code is RefusalCode.MALFORMED, refused.value


def test_dimensions_are_checked_before_decoding(tmp_path, monkeypatch):
    src = write(tmp_path, imagegen.heic_bytes((48, 32)))

    def must_not_decode(*_args, **_kwargs):
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(pillow_heif.HeifImage, "to_pillow", must_not_decode)
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path, Limits(max_pixels=48 * 32 - 1))
    assert refused.value.code is RefusalCode.TOO_LARGE


@pytest.mark.parametrize("keep", [40, 300, -100])
def test_truncated_heic_is_refused(keep, tmp_path):
    data = imagegen.heic_bytes((64, 48))
    src = write(tmp_path, data[:keep])
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.MALFORMED


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 64


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), True),
        (_ftyp(b"mif1", b"heic"), True),
        (_ftyp(b"avif", b"mif1", b"avif"), True),
        (_ftyp(b"heix", b"mif1"), True),
        (_ftyp(b"isom", b"iso2", b"mp41"), False),
        (_ftyp(b"qt  ", b"qt  "), False),
        (_ftyp(b"M4A ", b"M4A ", b"mp42"), False),
        (_ftyp(b"mp42", b"heic", b"mif1"), False),  # brands are judged by the major one
        (b"\x00\x00\x00\x18ftypheic", False),  # box longer than the data
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, False),
    ],
)
def test_sniff_by_major_brand(head, expected):
    assert CLEANER.sniff(head, Path("x.heic")) is expected


def test_registry_cleans_heic_end_to_end(tmp_path):
    src = write(
        tmp_path,
        imagegen.heic_bytes(exif=imagegen.identifying_exif(), xmp=imagegen.identifying_xmp()),
    )
    dst = tmp_path / "filed.jpg"
    result = clean_file(src, dst)
    assert (result.kind, result.format, result.mime, result.extension) == (
        "image",
        "HEIC",
        "image/jpeg",
        "jpg",
    )
    assert Category.GPS in result.removed
    assert leaks(dst) == []
    assert imagegen.found_values(dst.read_bytes()) == []
