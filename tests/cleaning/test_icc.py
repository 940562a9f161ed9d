"""The colour-profile policy: standard spaces are recognised and re-emitted without
their identifying header, device profiles are reported and converted to sRGB."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from portal.cleaning import icc
from tests.cleaning import imagegen
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks


def description(profile: bytes) -> str:
    return ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.profile_description


def header_fields(profile: bytes) -> dict[str, bytes]:
    return {
        "cmm": profile[4:8],
        "date": profile[24:36],
        "platform": profile[40:44],
        "manufacturer": profile[48:52],
        "model": profile[52:56],
        "creator": profile[80:84],
        "id": profile[84:100],
    }


def tag_signatures(profile: bytes) -> set[bytes]:
    (count,) = struct.unpack(">I", profile[128:132])
    return {profile[132 + 12 * i : 136 + 12 * i] for i in range(count)}


@pytest.mark.parametrize(
    "name",
    ["sRGB IEC61966-2.1", "sRGB built-in", "Display P3", "Adobe RGB (1998)", "ProPhoto RGB"],
)
def test_standard_spaces_are_recognised(name):
    assert icc.is_standard_profile(imagegen.icc_profile_named(name))


def test_littlecms_srgb_is_standard():
    built = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert icc.is_standard_profile(built)


@pytest.mark.parametrize(
    "profile",
    [
        imagegen.icc_profile_named("Canon EOS 40D Camera Profile"),
        imagegen.icc_profile_named("Dell U2720Q calibrated 2023-05-01"),
        # a standard name on a scanner or camera profile is still a device profile
        imagegen.icc_profile_named("sRGB IEC61966-2.1", device_class=b"scnr"),
        b"",
        b"not a profile at all" * 10,
        imagegen.icc_profile_named("sRGB IEC61966-2.1")[:200],  # cut short
    ],
)
def test_device_and_broken_profiles_are_not_standard(profile):
    assert not icc.is_standard_profile(profile)


def test_srgb_canonical_copy_is_fixed_and_anonymous():
    first = icc.canonical_profile(imagegen.icc_profile_named("sRGB IEC61966-2.1"))
    second = icc.canonical_profile(
        imagegen.icc_profile_named("sRGB IEC61966-2-1 black scaled", creator=b"EVIL")
    )
    assert first == second == icc.srgb_profile()
    assert all(value.strip(b"\x00") == b"" for value in header_fields(first).values())
    assert icc.is_standard_profile(first)
    assert description(first) == "sRGB IEC61966-2.1"
    assert b"dmnd" not in tag_signatures(first) and b"cprt" not in tag_signatures(first)


def test_other_standard_spaces_keep_their_colorimetry_but_lose_the_header():
    original = imagegen.icc_profile_named("Display P3", creator=b"appl")
    copy = icc.canonical_profile(original)
    assert description(copy) == "Display P3"
    assert icc.is_standard_profile(copy)
    assert all(value.strip(b"\x00") == b"" for value in header_fields(copy).values())
    assert tag_signatures(copy) <= tag_signatures(original)
    assert b"dmnd" not in tag_signatures(copy)
    original_profile = ImageCms.ImageCmsProfile(io.BytesIO(original)).profile
    copy_profile = ImageCms.ImageCmsProfile(io.BytesIO(copy)).profile
    assert copy_profile.red_colorant == original_profile.red_colorant
    assert copy_profile.blue_colorant == original_profile.blue_colorant


def test_canonical_profile_refuses_device_profiles():
    with pytest.raises(ValueError):
        icc.canonical_profile(imagegen.icc_profile_named("Epson Stylus Photo R2000"))


def test_canonical_profile_leaves_nothing_for_exiftool(tmp_path):
    out = tmp_path / "p3.jpg"
    profile = icc.canonical_profile(imagegen.icc_profile_named("Display P3", creator=b"appl"))
    imagegen.pattern().save(out, "JPEG", icc_profile=profile)
    assert leaks(out) == []


def test_to_srgb_with_srgb_colorimetry_is_nearly_identity():
    # A device profile whose colorimetry happens to be sRGB's: converting must not
    # change colours more than rounding.
    image = imagegen.pattern((32, 24))
    device = imagegen.icc_profile_named("Some Phone Camera")
    converted = icc.to_srgb(image, device)
    assert converted.mode == "RGB" and converted.size == image.size
    worst = max(abs(a - b) for a, b in zip(converted.tobytes(), image.tobytes(), strict=True))
    assert worst <= 2
    assert "icc_profile" not in converted.info


def test_to_srgb_keeps_alpha():
    image = imagegen.pattern((16, 16), "RGBA")
    converted = icc.to_srgb(image, imagegen.icc_profile_named("Some Phone Camera"))
    assert converted.mode == "RGBA"
    assert converted.getchannel("A").tobytes() == image.getchannel("A").tobytes()


@pytest.mark.corpus
def test_to_srgb_converts_a_wide_gamut_device_profile():
    src = corpus_file("ianare_orient_landscape_3.jpg")  # "Generic RGB Profile", gamma 1.8
    with Image.open(src) as image:
        profile = image.info["icc_profile"]
        assert not icc.is_standard_profile(profile)
        converted = icc.to_srgb(image, profile)
        assert converted.size == image.size
        assert converted.tobytes() != image.convert("RGB").tobytes()


def test_to_srgb_rejects_unusable_profiles():
    with pytest.raises(ValueError):
        icc.to_srgb(imagegen.pattern(), b"garbage" * 30)


def test_prepare_for_save_applies_the_policy():
    image = imagegen.pattern((16, 8))
    assert icc.prepare_for_save(image, None) == (image, None)
    same, kept = icc.prepare_for_save(image, imagegen.icc_profile_named("Adobe RGB (1998)"))
    assert same is image and description(kept) == "Adobe RGB (1998)"
    converted, srgb = icc.prepare_for_save(image, imagegen.icc_profile_named("Scanner X"))
    assert srgb == icc.srgb_profile() and converted is not image
    dropped, none = icc.prepare_for_save(image, b"garbage" * 30)
    assert dropped is image and none is None
    # a grey profile on colour pixels cannot be trusted to describe them
    grey_on_rgb = imagegen.icc_profile_named("Gray Gamma 2.2")
    grey_on_rgb = grey_on_rgb[:16] + b"GRAY" + grey_on_rgb[20:]
    assert icc.prepare_for_save(image, grey_on_rgb) == (image, None)
