"""JPEG cleaning: exiftool finds nothing identifying afterwards, the scan data is the
original's byte for byte, the picture displays the same way, and only the first
image of a multi-image file survives."""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageOps

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file, icc
from portal.cleaning.jpeg import CLEANER
from tests.cleaning import imagegen
from tests.corpus import corpus_file, corpus_params
from tests.exiftool_oracle import leaks, read_tags

JPEG_CORPUS = corpus_params(".jpg", ".jpeg")
# Pillow's own test file holds the headers of an Ultra HDR picture but stops right
# after the start of the primary image's scan: a truncated primary, to be refused.
TRUNCATED_IN_CORPUS = {"pillow_ultrahdr.jpg"}
LIMITS = Limits()

# Tags whose string values identify; a cleaned file must not contain their bytes.
_IDENTIFYING_TAG = re.compile(
    r"(Make|Model|Serial|Artist|Author|Creator|Owner|Copyright|Software|HostComputer|"
    r"Comment|Description|Caption|By-line|DocumentID|InstanceID|UniqueID|DateTimeOriginal|"
    r"CreateDate|City|Location)$",
    re.IGNORECASE,
)


write = imagegen.writer("in.jpg")
clean = imagegen.runner("out.jpg", CLEANER)


def displayed(path: Path) -> Image.Image:
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image)
    return upright.convert("RGB")


def device_profile(path: Path) -> bytes | None:
    """The file's colour profile if it is not a standard colour space (the cleaner
    converts such a picture's colours, so its scan data cannot stay the same)."""
    with Image.open(path) as image:
        profile = image.info.get("icc_profile")
    return profile if profile and not icc.is_standard_profile(profile) else None


def displayed_in_srgb(path: Path, profile: bytes) -> Image.Image:
    """What a colour-managed viewer shows: littleCMS straight from ``profile``."""
    return ImageCms.profileToProfile(
        displayed(path),
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"),
    )


def assert_displays_the_same(src: Path, out: Path) -> None:
    """Upright, ``out`` shows ``src``'s pixels exactly, or, when ``src`` has a device
    colour profile (converted by the cleaner), what a colour-managed viewer shows."""
    profile = device_profile(src)
    before, after = displayed(src), displayed(out)
    assert after.size == before.size
    if profile is None:
        assert after.tobytes() == before.tobytes()
    else:
        assert imagegen.mean_difference(after, displayed_in_srgb(src, profile)) < 3


def identifying_strings(original: Path) -> set[str]:
    """String values exiftool reads from ``original`` under identifying tag names."""
    values = set()
    for key, value in read_tags(original).items():
        tag = key.rpartition(":")[2]
        if not isinstance(value, str) or not _IDENTIFYING_TAG.search(tag):
            continue
        if tag.startswith("Profile"):  # a standard profile's name is kept on purpose
            continue
        value = value.strip()
        if len(value) >= 5 and not value.startswith("base64:") and value.strip("0: "):
            values.add(value)
    return values


# --- the corpus ---------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize("name", JPEG_CORPUS)
def test_corpus_jpeg_is_cleaned(name, tmp_path):
    src = corpus_file(name)
    original = src.read_bytes()
    if name in TRUNCATED_IN_CORPUS:
        with pytest.raises(ValueError):
            imagegen.scan_data(original)
        with pytest.raises(Refusal) as refused:
            clean(src, tmp_path)
        assert refused.value.code is RefusalCode.MALFORMED
        return
    out, result = clean(src, tmp_path)
    cleaned = out.read_bytes()
    assert leaks(out) == []
    assert [v for v in identifying_strings(src) if v.encode() in cleaned] == []
    if device_profile(src) is None:
        assert imagegen.scan_data(cleaned) == imagegen.scan_data(original)
    else:  # colours converted: one re-encode, checked by the display test below
        assert Category.ICC_PROFILE in result.removed
    assert CLEANER.inspect(out, LIMITS) == set()
    assert result.removed == frozenset(CLEANER.inspect(src, LIMITS))
    assert (result.kind, result.format, result.mime, result.extension) == (
        "image",
        "JPEG",
        "image/jpeg",
        "jpg",
    )


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", [n for n in JPEG_CORPUS if not isinstance(n, str) or n.startswith("ianare_orient_")]
)
def test_corpus_orientation_displays_the_same(name, tmp_path):
    src = corpus_file(name)
    out, _ = clean(src, tmp_path)
    assert_displays_the_same(src, out)


@pytest.mark.corpus
def test_mpo_keeps_only_the_first_image(tmp_path):
    src = corpus_file("pillow_sugarshack.mpo.jpg")
    with Image.open(src) as image:
        assert image.n_frames == 2
    out, result = clean(src, tmp_path)
    with Image.open(out) as image:
        assert getattr(image, "n_frames", 1) == 1
        assert image.format == "JPEG"
    assert out.read_bytes().count(b"\xff\xd8\xff") == 1
    assert Category.THUMBNAIL in result.removed
    assert not any(k.startswith(("MPF", "MPImage")) for k in read_tags(out))


# --- generated files ------------------------------------------------------------------


def test_exiftool_tagged_jpeg(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes())
    imagegen.tag_identifying(src)
    assert len(imagegen.found_values(src.read_bytes())) >= 10  # the tags were written
    found = CLEANER.inspect(src, LIMITS)
    assert {
        Category.GPS,
        Category.MAKE_MODEL,
        Category.SERIAL,
        Category.AUTHOR,
        Category.SOFTWARE,
        Category.DATES,
        Category.COMMENT,
        Category.XMP,
        Category.IPTC,
        Category.EXIF,
    } <= found
    out, result = clean(src, tmp_path)
    assert leaks(out) == []
    assert imagegen.found_values(out.read_bytes()) == []
    assert imagegen.scan_data(out.read_bytes()) == imagegen.scan_data(src.read_bytes())
    assert result.removed == frozenset(found)
    assert CLEANER.inspect(out, LIMITS) == set()


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_displays_the_same(orientation, progressive, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x013B] = imagegen.IDENTIFYING_VALUES["artist"]
    image = imagegen.pattern((40, 24))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), progressive=progressive)
    src = write(tmp_path, buffer.getvalue())
    out, _ = clean(src, tmp_path)
    assert_displays_the_same(src, out)
    # exiftool sees only the orientation left in EXIF, and only when it matters.
    exif_tags = {k: v for k, v in read_tags(out).items() if k.startswith("IFD")}
    assert list(exif_tags) == (["IFD0:Orientation"] if orientation != 1 else [])


def test_progressive_with_restart_markers_keeps_every_scan(tmp_path):
    data = imagegen.jpeg_bytes((64, 48), progressive=True, restart_marker_blocks=1)
    assert data.count(b"\xff\xdd") >= 1
    scans = imagegen.scan_data(data)
    assert len(scans) > 1
    src = write(tmp_path, data)
    # The smallest chunk size makes markers straddle buffer boundaries.
    out, _ = clean(src, tmp_path, Limits(chunk_size=1))
    assert imagegen.scan_data(out.read_bytes()) == scans
    assert displayed(out).tobytes() == displayed(src).tobytes()


def test_cmyk_jpeg_keeps_its_colour_transform(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes(mode="CMYK"))
    assert b"Adobe" in src.read_bytes()
    out, _ = clean(src, tmp_path)
    with Image.open(src) as a, Image.open(out) as b:
        assert b.mode == "CMYK"
        assert a.tobytes() == b.tobytes()


def test_grayscale_jpeg(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes(mode="L"))
    out, _ = clean(src, tmp_path)
    with Image.open(src) as a, Image.open(out) as b:
        assert (b.mode, a.tobytes()) == ("L", b.tobytes())


def test_standard_profile_is_replaced_by_canonical_copy(tmp_path):
    profile = imagegen.icc_profile_named("sRGB IEC61966-2.1", creator=b"EVIL")
    src = write(tmp_path, imagegen.jpeg_bytes(icc_profile=profile))
    assert Category.ICC_PROFILE not in CLEANER.inspect(src, LIMITS)
    out, _ = clean(src, tmp_path)
    with Image.open(out) as image:
        assert image.info["icc_profile"] == icc.srgb_profile()
    assert b"EVIL" not in out.read_bytes()


def test_device_profile_is_dropped_and_reported(tmp_path):
    profile = imagegen.icc_profile_named("Nikon Scanner 4000 calibrated", device_class=b"scnr")
    big = profile + b"\x00" * 70000  # spans two APP2 segments
    big = struct.pack(">I", len(big)) + big[4:]
    src = write(tmp_path, imagegen.jpeg_bytes(icc_profile=big))
    assert src.read_bytes().count(b"ICC_PROFILE\x00") == 2
    assert Category.ICC_PROFILE in CLEANER.inspect(src, LIMITS)
    out, result = clean(src, tmp_path)
    assert Category.ICC_PROFILE in result.removed
    assert b"Nikon" not in out.read_bytes().replace(b"\x00", b"")
    with Image.open(out) as image:
        assert "icc_profile" not in image.info


@pytest.mark.parametrize("orientation", [1, 6])
def test_device_profile_colours_are_converted_then_dropped(orientation, tmp_path):
    profile = imagegen.swapped_primaries_profile()
    assert not icc.is_standard_profile(profile)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = imagegen.IDENTIFYING_VALUES["make"]
    src = write(tmp_path, imagegen.jpeg_bytes(icc_profile=profile, exif=exif.tobytes()))
    out, result = clean(src, tmp_path)
    assert Category.ICC_PROFILE in result.removed
    assert leaks(out) == []
    assert imagegen.IDENTIFYING_VALUES["make"].encode() not in out.read_bytes()
    with Image.open(src) as original, Image.open(out) as cleaned:
        assert "icc_profile" not in cleaned.info
        assert cleaned.getexif().get(0x0112, 1) == orientation
        # Oracle: littleCMS converting the original straight to sRGB.
        expected = ImageCms.profileToProfile(
            original.convert("RGB"),
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
        )
        assert imagegen.mean_difference(cleaned, original) > 20  # red and blue really swapped
        assert imagegen.mean_difference(cleaned, expected) < 8  # one re-encode of a tiny picture
        assert cleaned.size == original.size


def _with_app_segment(jpeg: bytes, code: int, payload: bytes) -> bytes:
    segment = struct.pack(">BBH", 0xFF, code, len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def test_ultra_hdr_like_file_keeps_only_the_primary(tmp_path):
    primary = imagegen.jpeg_bytes((48, 32))
    primary = _with_app_segment(primary, 0xE1, b"http://ns.adobe.com/xap/1.0/\x00<hdrgm/>")
    primary = _with_app_segment(primary, 0xE2, b"MPF\x00II*\x00\x08\x00\x00\x00")
    gain_map = write(tmp_path, imagegen.jpeg_bytes((24, 16), mode="L"), "gain.jpg")
    imagegen.tag_identifying(gain_map)
    src = write(tmp_path, primary + gain_map.read_bytes())
    found = CLEANER.inspect(src, LIMITS)
    assert {Category.THUMBNAIL, Category.XMP} <= found
    out, _ = clean(src, tmp_path)
    cleaned = out.read_bytes()
    assert cleaned.count(b"\xff\xd8") == 1
    assert imagegen.found_values(cleaned) == []
    assert leaks(out) == []
    assert imagegen.scan_data(cleaned) == imagegen.scan_data(primary)


def test_truncated_secondary_image_is_still_cleaned(tmp_path):
    primary = imagegen.jpeg_bytes((48, 32))
    second = imagegen.jpeg_bytes((48, 32), quality=50)
    src = write(tmp_path, primary + second[: len(second) // 2])
    out, result = clean(src, tmp_path)
    assert Category.THUMBNAIL in result.removed
    assert imagegen.scan_data(out.read_bytes()) == imagegen.scan_data(primary)
    assert displayed(out).tobytes() == displayed(write(tmp_path, primary, "p.jpg")).tobytes()


def test_trailing_data_is_reported_and_cut(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes() + b"PK\x03\x04 secret appended archive")
    assert Category.HIDDEN_DATA in CLEANER.inspect(src, LIMITS)
    out, _ = clean(src, tmp_path)
    assert out.read_bytes().endswith(b"\xff\xd9")
    assert b"secret" not in out.read_bytes()


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.95])
def test_truncated_primary_is_refused(fraction, tmp_path):
    data = imagegen.jpeg_bytes((64, 48), progressive=True)
    src = write(tmp_path, data[: int(len(data) * fraction)])
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.MALFORMED


def test_missing_end_marker_is_refused(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes()[:-2])
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.MALFORMED


def test_garbage_between_segments_is_refused(tmp_path):
    data = imagegen.jpeg_bytes()
    src = write(tmp_path, data[:2] + b"junk" + data[2:])
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.MALFORMED


def _with_dimensions(jpeg: bytes, width: int, height: int) -> bytes:
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


def test_decompression_bomb_is_refused_without_allocating(tmp_path):
    src = write(tmp_path, _with_dimensions(imagegen.jpeg_bytes((16, 16)), 60000, 60000))
    assert src.stat().st_size < 2000
    tracemalloc.start()
    try:
        with pytest.raises(Refusal) as refused:
            clean(src, tmp_path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.code is RefusalCode.TOO_LARGE
    assert peak < 8 * 1024 * 1024
    with pytest.raises(Refusal) as refused:
        CLEANER.inspect(src, LIMITS)
    assert refused.value.code is RefusalCode.TOO_LARGE


def test_pixel_limit_is_configurable(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes((40, 30)))
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path, Limits(max_pixels=40 * 30 - 1))
    assert refused.value.code is RefusalCode.TOO_LARGE
    clean(src, tmp_path, Limits(max_pixels=40 * 30))


def test_zero_height_frame_is_refused(tmp_path):
    src = write(tmp_path, _with_dimensions(imagegen.jpeg_bytes(), 48, 0))
    with pytest.raises(Refusal) as refused:
        clean(src, tmp_path)
    assert refused.value.code is RefusalCode.MALFORMED


def test_sniff_is_by_bytes():
    assert CLEANER.sniff(imagegen.jpeg_bytes()[:4096], Path("x.txt"))
    assert not CLEANER.sniff(b"\x89PNG\r\n\x1a\n", Path("x.jpg"))
    assert not CLEANER.sniff(b"\xff\xd8", Path("x.jpg"))


def test_registry_cleans_jpeg_end_to_end(tmp_path):
    src = write(tmp_path, imagegen.jpeg_bytes(orientation=6))
    imagegen.tag_identifying(src)
    dst = tmp_path / "filed.jpg"
    result = clean_file(src, dst)
    assert result.mime == "image/jpeg"
    assert {Category.GPS, Category.AUTHOR} <= result.removed
    assert leaks(dst) == []
    assert imagegen.found_values(dst.read_bytes()) == []
    assert not list(tmp_path.glob("*.part"))
    with Image.open(io.BytesIO(dst.read_bytes())) as image:
        assert image.getexif().get(0x0112) == 6


def test_segments_between_scans_are_dropped(tmp_path):
    data = imagegen.jpeg_bytes((64, 48), progressive=True)
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    comment = struct.pack(">BBH", 0xFF, 0xFE, 2 + 22) + b"CommentBetweenScans!!!"
    app = struct.pack(">BBH", 0xFF, 0xEB, 2 + 14) + b"JUMBF c2pa xyz"
    src = write(tmp_path, data[:second_scan] + comment + app + data[second_scan:])
    assert {Category.COMMENT, Category.HIDDEN_DATA} <= CLEANER.inspect(src, LIMITS)
    out, _ = clean(src, tmp_path)
    cleaned = out.read_bytes()
    assert b"CommentBetweenScans" not in cleaned and b"c2pa" not in cleaned
    assert imagegen.scan_data(cleaned) == imagegen.scan_data(data)


# --- shortcuts: scans walked by a regular expression, one decode where one is needed --


def _without_quantisation_tables(jpeg: bytes) -> bytes:
    """``jpeg`` with every DQT segment removed: its frame names tables that do not
    exist, which the segment walk does not check and libjpeg refuses to decode."""
    out, pos = bytearray(jpeg[:2]), 2
    while True:
        code, length = jpeg[pos + 1], struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        if code == 0xDA:
            return bytes(out + jpeg[pos:])
        if code != 0xDB:
            out += jpeg[pos : pos + 2 + length]
        pos += 2 + length


@pytest.mark.parametrize("profile", ["none", "device"])
def test_scans_that_libjpeg_cannot_decode_are_malformed(profile, tmp_path):
    """With a device profile the full decode of the colour conversion is the proof;
    without, the reduced (1/8 scale) decode. Either refuses what libjpeg cannot read."""
    options = {"icc_profile": imagegen.swapped_primaries_profile()} if profile == "device" else {}
    src = write(tmp_path, _without_quantisation_tables(imagegen.jpeg_bytes((64, 48), **options)))
    with pytest.raises(Refusal) as caught:
        clean_file(src, tmp_path / "out.jpg")
    assert caught.value.code == RefusalCode.MALFORMED
    assert not (tmp_path / "out.jpg").exists()


def test_fill_bytes_and_buffer_edges_inside_scans(tmp_path):
    """Fill bytes (0xFF 0xFF ...) before a marker, and 0xFF pairs split across the
    reader's buffer, leave the scan data byte for byte; a file cut inside a scan is
    refused whatever the buffer size."""
    original = imagegen.jpeg_bytes((640, 480), progressive=True)
    marker = original.index(b"\xff\xda", original.index(b"\xff\xda") + 2)  # second scan
    padded = original[:marker] + b"\xff\xff\xff" + original[marker:]
    for chunk_size in (4096, 4097, 5000):
        src = write(tmp_path, padded)
        out = tmp_path / f"out-{chunk_size}.jpg"
        clean_file(src, out, Limits(chunk_size=chunk_size))
        assert imagegen.scan_data(out.read_bytes()) == imagegen.scan_data(original)
        cut = write(tmp_path, padded[: marker - 100] + b"\xff", "cut.jpg")
        with pytest.raises(Refusal) as caught:
            clean_file(cut, tmp_path / "cut-out.jpg", Limits(chunk_size=chunk_size))
        assert caught.value.code == RefusalCode.MALFORMED
