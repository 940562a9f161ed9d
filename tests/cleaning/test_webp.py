"""WebP cleaning: EXIF, XMP, unknown chunks and data past the RIFF end go; every
frame decodes to the same pixels; VP8X flags and RIFF sizes match what is kept."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file, icc
from portal.cleaning.webp import CLEANER
from tests.cleaning import imagegen
from tests.corpus import corpus_file, corpus_params
from tests.exiftool_oracle import write_tags

WEBP_CORPUS = corpus_params(".webp")
DEFAULT_LIMITS = Limits()
SECRETS = [b"Jane Tipster", b"PhoneCorp", b"private-payload", b"TIPSCAN1", b"<html>"]


frames = imagegen.composed_frames


def riff_chunks(data: bytes, start: int = 12, end: int | None = None) -> list[tuple[bytes, bytes]]:
    end = len(data) if end is None else end
    found, pos = [], start
    while pos < end:
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        found.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return found


def riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(riff_chunk(f, p) for f, p in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def assert_structure(data: bytes) -> list[tuple[bytes, bytes]]:
    """RIFF size exact, pad bytes zero, VP8X flags matching the chunks present."""
    (size,) = struct.unpack("<I", data[4:8])
    assert size + 8 == len(data)
    chunks = riff_chunks(data)
    names = {fourcc for fourcc, _ in chunks}
    if chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0]
        assert bool(flags & 0x20) == (b"ICCP" in names)
        assert bool(flags & 0x08) == (b"EXIF" in names)
        assert not flags & 0x04 and not flags & 0xC1
        assert bool(flags & 0x02) == (b"ANMF" in names)
        assert chunks[0][1][1:4] == b"\x00\x00\x00"
    assert not names - {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP", b"EXIF"}
    return chunks


clean = imagegen.runner("out.webp")


def assert_clean(src: Path, out: Path, needles: list[bytes], same_pixels: bool = True) -> None:
    data = imagegen.assert_nothing_left(CLEANER, out, needles)
    assert_structure(data)
    if same_pixels:
        assert frames(out) == frames(src)


@pytest.mark.corpus
@pytest.mark.parametrize("name", WEBP_CORPUS)
def test_corpus_webp(name: str, tmp_path: Path) -> None:
    src = corpus_file(name)
    assert Category.EXIF in CLEANER.inspect(src, Limits())
    out, result = clean(src, tmp_path)
    assert (result.kind, result.format, result.mime, result.extension) == (
        "image",
        "WEBP",
        "image/webp",
        "webp",
    )
    assert_clean(src, out, [b"Canon PowerShot"])


def test_corpus_camera_tags(tmp_path: Path) -> None:
    src = corpus_file("pillow_flower.webp")
    assert b"Canon PowerShot S40" in src.read_bytes()
    assert CLEANER.inspect(src, Limits()) >= {
        Category.MAKE_MODEL,
        Category.DATES,
        Category.MAKER_NOTES,
        Category.THUMBNAIL,
    }


def tag(path: Path) -> None:
    write_tags(
        path,
        "-XMP-dc:Creator=Jane Tipster", "-EXIF:Make=PhoneCorp",
        "-EXIF:Artist=Jane Tipster", "-EXIF:DateTimeOriginal=2024:05:06 07:08:09",
        "-EXIF:GPSLatitude=31.7619", "-EXIF:GPSLatitudeRef=N",
        "-EXIF:Orientation#=6",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "options"),
    [("RGB", {"quality": 80}), ("RGBA", {"quality": 70}), ("RGBA", {"lossless": True})],
)
def test_tagged_still(mode: str, options: dict, tmp_path: Path) -> None:
    src = tmp_path / "tagged.webp"
    image = Image.radial_gradient("L").resize((48, 32)).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((48, 32)))
    image.save(src, **options)
    tag(src)
    data = src.read_bytes()
    chunks = riff_chunks(data, end=8 + struct.unpack("<I", data[4:8])[0])
    chunks.append((b"PRIV", b"private-payload!"))
    src.write_bytes(riff(chunks) + b"<html>private-payload</html>")
    found = CLEANER.inspect(src, Limits())
    assert found >= {
        Category.GPS,
        Category.MAKE_MODEL,
        Category.AUTHOR,
        Category.DATES,
        Category.XMP,
        Category.HIDDEN_DATA,
    }
    out, result = clean(src, tmp_path)
    assert result.removed == frozenset(found)
    assert_clean(src, out, SECRETS)
    with Image.open(out) as cleaned:
        assert dict(cleaned.getexif()) == {0x0112: 6}


def animation(tmp_path: Path, count: int, **options) -> Path:
    src = tmp_path / "anim.webp"
    images = []
    for i in range(count):
        image = Image.new("RGBA", (40, 24), (i * 40, 200 - i * 30, 90, 255 - i * 50))
        image.paste((255, 255, 255, 255), (i * 6, 4, i * 6 + 8, 14))
        images.append(image)
    images[0].save(
        src,
        save_all=True,
        append_images=images[1:],
        duration=[100 + 10 * i for i in range(count)],
        loop=5,
        **options,
    )
    return src


@pytest.mark.parametrize("options", [{"lossless": True}, {"quality": 60}])
def test_animation_keeps_every_frame(options: dict, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneCorp"
    exif[0x013B] = "Jane Tipster"
    xmp = b"<x:xmpmeta><dc:creator>Jane Tipster</dc:creator></x:xmpmeta>"
    src = animation(tmp_path, 4, exif=exif, xmp=xmp, **options)
    data = src.read_bytes()
    chunks = riff_chunks(data)
    # A private chunk inside the first frame, where only ALPH/VP8/VP8L belong.
    index = next(i for i, (fourcc, _) in enumerate(chunks) if fourcc == b"ANMF")
    frame = chunks[index][1]
    chunks[index] = (b"ANMF", frame + riff_chunk(b"PRIV", b"private-payload"))
    src.write_bytes(riff(chunks))
    assert len(frames(src)) == 4
    assert CLEANER.inspect(src, Limits()) == {
        Category.MAKE_MODEL,
        Category.AUTHOR,
        Category.XMP,
        Category.HIDDEN_DATA,
    }
    out, _ = clean(src, tmp_path)
    assert_clean(src, out, SECRETS)
    assert [d for _, _, d in frames(out)] == [100, 110, 120, 130]
    with Image.open(out) as image:
        assert image.info["loop"] == 5


def scanner_profile() -> bytes:
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[12:16] = b"scnr"
    profile[48:56] = b"TIPSCAN1"
    return bytes(profile)


def test_nonstandard_profile_is_converted(tmp_path: Path) -> None:
    src = tmp_path / "scanner.webp"
    image = Image.linear_gradient("L").resize((20, 20)).convert("RGB")
    image.save(src, lossless=True, icc_profile=scanner_profile())
    assert CLEANER.inspect(src, Limits()) == {Category.ICC_PROFILE}
    out, result = clean(src, tmp_path)
    assert result.removed == {Category.ICC_PROFILE}
    assert_clean(src, out, [b"TIPSCAN1"], same_pixels=False)
    with Image.open(out) as cleaned, Image.open(src) as original:
        assert cleaned.info["icc_profile"] == icc.srgb_profile()
        pairs = zip(
            cleaned.convert("RGB").tobytes(), original.convert("RGB").tobytes(), strict=True
        )
        assert max(abs(a - b) for a, b in pairs) <= 3


def test_standard_profile_becomes_canonical(tmp_path: Path) -> None:
    src = tmp_path / "srgb.webp"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert icc.is_standard_profile(profile)
    Image.linear_gradient("L").resize((20, 20)).convert("RGB").save(
        src, lossless=True, icc_profile=profile
    )
    assert CLEANER.inspect(src, Limits()) == set()
    out, _ = clean(src, tmp_path)
    assert_clean(src, out, [])
    with Image.open(out) as cleaned:
        assert cleaned.info["icc_profile"] == icc.srgb_profile()


def refusal(data: bytes, tmp_path: Path, limits: Limits = DEFAULT_LIMITS) -> RefusalCode:
    src = tmp_path / "bad.webp"
    src.write_bytes(data)
    with pytest.raises(Refusal) as caught:
        clean_file(src, tmp_path / "bad-out.webp", limits)
    assert not (tmp_path / "bad-out.webp").exists()
    return caught.value.code


@pytest.mark.parametrize("cut", [16, 30, -7])
def test_truncated_is_malformed(cut: int, tmp_path: Path) -> None:
    data = animation(tmp_path, 2, lossless=True).read_bytes()
    assert refusal(data[:cut], tmp_path) == RefusalCode.MALFORMED


def test_chunk_overrunning_riff_is_malformed(tmp_path: Path) -> None:
    chunks = riff_chunks(animation(tmp_path, 2, lossless=True).read_bytes())
    data = bytearray(riff(chunks))
    data[16:20] = struct.pack("<I", 10_000)  # VP8X claims to be huge
    assert refusal(bytes(data), tmp_path) == RefusalCode.MALFORMED


def test_huge_canvas_refused(tmp_path: Path) -> None:
    chunks = riff_chunks(animation(tmp_path, 2, lossless=True).read_bytes())
    vp8x = bytearray(chunks[0][1])
    vp8x[4:10] = (16000).to_bytes(3, "little") * 2
    chunks[0] = (b"VP8X", bytes(vp8x))
    assert refusal(riff(chunks), tmp_path) == RefusalCode.TOO_LARGE


def test_too_many_frames_refused(tmp_path: Path) -> None:
    src = animation(tmp_path, 4, lossless=True)
    assert refusal(src.read_bytes(), tmp_path, Limits(max_frames=3)) == RefusalCode.TOO_LARGE


def test_corrupt_bitstream_is_malformed(tmp_path: Path) -> None:
    src = tmp_path / "still.webp"
    Image.radial_gradient("L").resize((32, 32)).save(src, lossless=True)
    chunks = riff_chunks(src.read_bytes())
    assert chunks[0][0] == b"VP8L"
    payload = chunks[0][1]
    chunks[0] = (b"VP8L", payload[:5] + b"\xff" * (len(payload) - 5))
    assert refusal(riff(chunks), tmp_path) == RefusalCode.MALFORMED
