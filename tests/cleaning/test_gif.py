"""GIF cleaning: comments, XMP, other application blocks and trailing data go; every
frame, its timing and the looping survive unchanged."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file, icc
from portal.cleaning.gif import CLEANER
from tests.cleaning import docgen, imagegen
from tests.corpus import corpus_file, corpus_params
from tests.exiftool_oracle import write_tags

GIF_CORPUS = corpus_params(".gif")
DEFAULT_LIMITS = Limits()
SECRETS = [b"Jane Tipster", b"Secret note", b"private-payload", b"<html>", b"TIPSCAN1"]


frames = imagegen.composed_frames


def sub_blocks(data: bytes) -> bytes:
    out = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    return out + b"\x00"


def before_trailer(data: bytes, extra: bytes) -> bytes:
    assert data.endswith(b"\x3b")
    return data[:-1] + extra + b"\x3b"


clean = imagegen.runner("out.gif")


def assert_clean(src: Path, out: Path, needles: list[bytes]) -> None:
    data = imagegen.assert_nothing_left(CLEANER, out, needles)
    assert frames(out) == frames(src)
    assert data.endswith(b"\x3b")


@pytest.mark.corpus
@pytest.mark.parametrize("name", GIF_CORPUS)
def test_corpus_gif(name: str, tmp_path: Path) -> None:
    src = corpus_file(name)
    out, result = clean(src, tmp_path)
    assert (result.kind, result.format, result.mime, result.extension) == (
        "image",
        "GIF",
        "image/gif",
        "gif",
    )
    assert_clean(src, out, [])


def test_corpus_comment_gone(tmp_path: Path) -> None:
    src = corpus_file("mat2_dirty.gif")
    assert b"this is a test comment" in src.read_bytes()
    assert CLEANER.inspect(src, Limits()) == {Category.COMMENT}
    out, result = clean(src, tmp_path)
    assert result.removed == {Category.COMMENT}
    assert b"this is a test comment" not in out.read_bytes()
    with Image.open(src) as original, Image.open(out) as cleaned:
        assert cleaned.info["loop"] == original.info["loop"]
        assert cleaned.n_frames == original.n_frames == 8


def scanner_profile() -> bytes:
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[12:16] = b"scnr"
    profile[48:56] = b"TIPSCAN1"
    return bytes(profile)


@pytest.fixture
def tagged_gif(tmp_path: Path) -> Path:
    """An animated GIF with a comment, XMP (written by exiftool), a plain-text block,
    an ICC block, a private application block and HTML after the trailer."""
    path = tmp_path / "tagged.gif"
    images = [Image.new("P", (30, 20), i) for i in range(3)]
    for i, image in enumerate(images):
        image.putpalette([v for c in range(256) for v in (c, 255 - c, (c * 7) % 256)])
        image.paste(i + 40, (i * 5, 3, i * 5 + 8, 15))
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=[120, 80, 500],
        loop=2,
        comment=b"Secret note",
        transparency=0,
        disposal=2,
    )
    write_tags(path, "-XMP-dc:Creator=Jane Tipster")
    plain_text = b"\x21\x01\x0c" + bytes(12) + sub_blocks(b"Jane Tipster")
    private = b"\x21\xff" + sub_blocks(b"PRIVATE!1.0")[:-1] + sub_blocks(b"private-payload")
    icc_block = b"\x21\xff" + sub_blocks(b"ICCRGBG1012")[:-1] + sub_blocks(scanner_profile())
    data = before_trailer(path.read_bytes(), plain_text + private + icc_block)
    path.write_bytes(data + b"<html><body>private-payload</body></html>")
    return path


def test_tagged_gif(tagged_gif: Path, tmp_path: Path) -> None:
    found = CLEANER.inspect(tagged_gif, Limits())
    assert found == {
        Category.COMMENT,
        Category.XMP,
        Category.ICC_PROFILE,
        Category.HIDDEN_DATA,
    }
    out, result = clean(tagged_gif, tmp_path)
    assert result.removed == frozenset(found)
    assert_clean(tagged_gif, out, SECRETS)
    with Image.open(out) as image:
        assert image.info["loop"] == 2
        assert image.n_frames == 3
    assert [duration for _, _, duration in frames(out)] == [120, 80, 500]


def test_still_gif87a(tmp_path: Path) -> None:
    src = tmp_path / "still.gif"
    image = Image.linear_gradient("L").resize((33, 17))
    image.save(src, interlace=True)
    data = src.read_bytes()
    src.write_bytes(data + b"PK\x03\x04private-payload")
    assert CLEANER.inspect(src, Limits()) == {Category.HIDDEN_DATA}
    out, _ = clean(src, tmp_path)
    assert_clean(src, out, [b"private-payload"])
    assert out.read_bytes()[:6] == data[:6]


def refusal(data: bytes, tmp_path: Path, limits: Limits = DEFAULT_LIMITS) -> RefusalCode:
    src = tmp_path / "bad.gif"
    src.write_bytes(data)
    with pytest.raises(Refusal) as caught:
        clean_file(src, tmp_path / "bad-out.gif", limits)
    assert not (tmp_path / "bad-out.gif").exists()
    return caught.value.code


def animated(tmp_path: Path, count: int = 4) -> bytes:
    src = tmp_path / "anim.gif"
    images = [Image.new("RGB", (8, 8), (i * 50, 255 - i * 50, 0)) for i in range(count)]
    images[0].save(src, save_all=True, append_images=images[1:], duration=40, loop=0)
    return src.read_bytes()


@pytest.mark.parametrize("cut", [10, 30, -20, -1])
def test_truncated_is_malformed(cut: int, tmp_path: Path) -> None:
    assert refusal(animated(tmp_path)[:cut], tmp_path) == RefusalCode.MALFORMED


def test_garbage_block_is_malformed(tmp_path: Path) -> None:
    data = before_trailer(animated(tmp_path), b"\x99")
    assert refusal(data, tmp_path) == RefusalCode.MALFORMED


def test_huge_screen_refused(tmp_path: Path) -> None:
    data = bytearray(animated(tmp_path))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    assert refusal(bytes(data), tmp_path) == RefusalCode.TOO_LARGE


def test_too_many_frames_refused(tmp_path: Path) -> None:
    data = animated(tmp_path, 4)
    assert refusal(data, tmp_path, Limits(max_frames=3)) == RefusalCode.TOO_LARGE
    out, _ = clean(tmp_path / "anim.gif", tmp_path, Limits(max_frames=4))
    assert len(frames(out)) == 4


def test_corrupt_image_data_is_malformed(tmp_path: Path) -> None:
    data = bytearray(animated(tmp_path, 2))
    start = data.index(b"\x2c\x00\x00\x00\x00\x08\x00\x08\x00")  # first image descriptor
    pixels = start + 10 + (data[start + 9] & 0x80 and 3 << ((data[start + 9] & 7) + 1)) + 1
    size = data[pixels]
    data[pixels + 1 : pixels + 1 + size] = b"\xff" * size  # codes no decoder can follow
    assert refusal(bytes(data), tmp_path) == RefusalCode.MALFORMED


def test_frame_beyond_screen_counts_towards_pixels(tmp_path: Path) -> None:
    data = bytearray(animated(tmp_path, 2))
    start = data.index(b"\x2c\x00\x00\x00\x00\x08\x00\x08\x00")
    data[start + 1 : start + 5] = struct.pack("<HH", 60000, 60000)  # frame far off screen
    assert refusal(bytes(data), tmp_path) == RefusalCode.TOO_LARGE


def wide_device_profile() -> bytes:
    """docgen's scanner profile with its red and blue primaries swapped, so converting
    to sRGB visibly changes colours (with sRGB's own primaries it would not)."""
    profile = bytearray(docgen.device_icc())
    (count,) = struct.unpack(">I", profile[128:132])
    entries = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 136 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red : red + 8], profile[blue : blue + 8] = (
        profile[blue : blue + 8],
        profile[red : red + 8],
    )
    return bytes(profile)


def gif_layout(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """The colour tables (global first, then local ones) and each image's LZW data
    (code size and sub-blocks), read by walking the blocks."""
    tables, images = [], []

    def table(packed: int, at: int) -> int:
        size = 3 << ((packed & 7) + 1) if packed & 0x80 else 0
        if size:
            tables.append(data[at : at + size])
        return at + size

    def skip_sub_blocks(at: int) -> int:
        while data[at]:
            at += data[at] + 1
        return at + 1

    pos = table(data[10], 13)
    while data[pos] != 0x3B:
        if data[pos] == 0x21:
            pos = skip_sub_blocks(pos + 2)
        else:
            start = table(data[pos + 9], pos + 10)
            pos = skip_sub_blocks(start + 1)
            images.append(data[start:pos])
    return tables, images


def test_device_profile_converts_the_colour_tables(tmp_path: Path) -> None:
    profile = wide_device_profile()
    assert not icc.is_standard_profile(profile)
    src = tmp_path / "device.gif"
    images = [Image.new("P", (24, 16), i) for i in range(3)]
    for i, image in enumerate(images):
        image.putpalette([(v * (i + 3)) % 256 for v in range(768)])  # differing tables
        image.paste(i + 60, (i * 4, 2, i * 4 + 9, 12))
    images[0].save(src, save_all=True, append_images=images[1:], duration=100, loop=0)
    icc_block = b"\x21\xff" + sub_blocks(b"ICCRGBG1012")[:-1] + sub_blocks(profile)
    data = src.read_bytes()
    screen_end = 13 + (3 << ((data[10] & 7) + 1))  # after the global colour table
    src.write_bytes(data[:screen_end] + icc_block + data[screen_end:])
    tables, lzw = gif_layout(src.read_bytes())
    assert len(tables) == 3  # a global table and two local ones

    out, result = clean(src, tmp_path)
    assert result.removed == {Category.ICC_PROFILE}
    cleaned = imagegen.assert_nothing_left(
        CLEANER, out, [b"ICCRGBG1", docgen.DEVICE_PROFILE.encode("utf-16-be")]
    )
    cleaned_tables, cleaned_lzw = gif_layout(cleaned)
    assert cleaned_lzw == lzw
    assert len(cleaned_tables) == len(tables)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    device = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    for original, converted in zip(tables, cleaned_tables, strict=True):
        expected = ImageCms.profileToProfile(
            Image.frombytes("RGB", (len(original) // 3, 1), original), device, srgb
        )
        assert expected is not None
        assert expected.tobytes() != original  # the conversion does change colours
        worst = max(abs(a - b) for a, b in zip(converted, expected.tobytes(), strict=True))
        assert worst <= 2
    with Image.open(src) as before, Image.open(out) as after:
        assert after.n_frames == before.n_frames == 3
