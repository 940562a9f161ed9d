"""pixels.save_pixels: decoded pixels written with nothing else. An image that is bare
already (a plain Image over a decoder's buffer, empty info) is written without a copy;
anything else is copied pixel by pixel first, so no encoder finds metadata to write."""

from __future__ import annotations

import pytest
from PIL import Image

from portal.cleaning.pixels import bare_image, save_pixels
from tests.cleaning import imagegen
from tests.exiftool_oracle import leaks


def _with_metadata(image: Image.Image) -> Image.Image:
    exif = Image.Exif()
    exif[0x010F] = "PhoneCorp"
    exif[0x013B] = "Jane Q. Tipster"
    image.info.update(exif=exif.tobytes(), comment=b"Jane Q. Tipster", dpi=(300, 300))
    return image


@pytest.mark.parametrize("photo", [True, False])
def test_an_image_with_info_is_written_without_it(photo, tmp_path):
    image = _with_metadata(imagegen.pattern((40, 30)))
    out = tmp_path / "out"
    result = save_pixels(image, None, out, photo=photo, source_format="TEST")
    assert result.mime == ("image/jpeg" if photo else "image/png")
    data = out.read_bytes()
    assert b"PhoneCorp" not in data and b"Tipster" not in data
    assert leaks(out) == []


def test_a_bare_image_is_written_as_it_is(tmp_path):
    source = imagegen.pattern((40, 30))
    raw = source.tobytes()
    image = bare_image("RGB", source.size, raw, 40 * 3)
    assert image.info == {}
    out = tmp_path / "out.png"
    save_pixels(image, None, out, photo=False, source_format="TEST")
    with Image.open(out) as written:
        assert written.tobytes() == raw
    assert leaks(out) == []


def test_a_bare_image_given_metadata_later_is_copied_first(tmp_path):
    """The shortcut looks at the image as it is when saved, not as it was made."""
    source = imagegen.pattern((40, 30))
    image = _with_metadata(bare_image("RGB", source.size, source.tobytes(), 40 * 3))
    out = tmp_path / "out"
    save_pixels(image, None, out, photo=True, source_format="TEST")
    assert b"Tipster" not in out.read_bytes()
    assert leaks(out) == []


def test_rgbx_pixels_are_written_as_the_same_jpeg_as_rgb(tmp_path):
    """The HEVC path hands over RGBX (RGB with a padding byte): the photo written
    from it is the one its RGB pixels give, three components, no metadata."""
    source = imagegen.pattern((40, 30))
    padded = source.convert("RGBX")
    assert padded.mode == "RGBX" and not padded.info
    rgb_out, rgbx_out = tmp_path / "rgb", tmp_path / "rgbx"
    save_pixels(source, None, rgb_out, photo=True, source_format="TEST")
    result = save_pixels(padded, None, rgbx_out, photo=True, source_format="TEST")
    assert result.mime == "image/jpeg"
    assert rgbx_out.read_bytes() == rgb_out.read_bytes()
    with Image.open(rgbx_out) as written:
        assert written.mode == "RGB"
    assert leaks(rgbx_out) == []
