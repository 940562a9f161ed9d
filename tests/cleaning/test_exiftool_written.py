"""Generated files tagged by exiftool itself, one for every format exiftool can write,
cleaned through the registry exactly as an upload is.

The other test files mostly plant metadata with the library that made the file
(Pillow, FFmpeg, pikepdf); here the tags come from the same tool that judges the
output, so a tag a library would never write (a QuickTime GPS box, an XMP packet in a
GIF, an incremental PDF update) is covered too. Each original is first shown to carry
the values; the cleaned copy must then give exiftool nothing identifying, and a byte
search of it (PDF streams decoded, zip members expanded) must find none of the values.

exiftool cannot write Matroska/WebM, AVI, MP3, Ogg, FLAC, WAV, office documents or
text: those families plant their tags with FFmpeg or by hand in their own test files
(``test_video``, ``test_audio``, ``test_office``, ``test_text``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pillow_heif
import pytest
from PIL import ImageCms

from portal.cleaning import Category, Limits, clean_file, icc, identify
from tests.cleaning import imagegen, mediagen
from tests.cleaning.byte_search import encodings, expand
from tests.exiftool_oracle import leaks, read_tags, write_tags

pillow_heif.register_heif_opener()

V = imagegen.IDENTIFYING_VALUES

# Values planted in audio and video files, and in PDFs, with exiftool's QuickTime and
# PDF tag names.
_MEDIA_ARGS = [
    f"-Make={V['make']}",
    f"-Model={V['model']}",
    f"-Artist={V['artist']}",
    f"-Software={V['software']}",
    f"-Title={V['comment']}",
    f"-Comment={V['user_comment']}",
    f"-Keys:Author={V['copyright']}",
    f"-UserData:Copyright={V['copyright']}",
    f"-XMP-dc:Creator={V['xmp_creator']}",
    f"-CreateDate={V['date']}",
    f"-GPSCoordinates={imagegen.GPS_LATITUDE}, -{imagegen.GPS_LONGITUDE}",
]
_PDF_ARGS = [
    f"-Author={V['artist']}",
    f"-Creator={V['software']}",
    f"-Producer={V['make']}",
    f"-Title={V['comment']}",
    f"-Subject={V['user_comment']}",
    f"-XMP-dc:Creator={V['xmp_creator']}",
    f"-XMP-dc:Description={V['xmp_description']}",
    f"-CreateDate={V['date']}",
]
# Values exiftool stores as text in each kind of file, to search the cleaned bytes for.
_MEDIA_VALUES = ("make", "model", "artist", "software", "comment", "user_comment",
                 "copyright", "xmp_creator")  # fmt: skip
_PDF_VALUES = ("artist", "software", "make", "comment", "user_comment", "xmp_creator",
               "xmp_description")  # fmt: skip
_IMAGE_VALUES = tuple(k for k in V if k != "date")  # exiftool stores dates as text too
# PNG keeps IPTC as hexadecimal text ("Raw profile type iptc"): exiftool reads it back.
_PNG_VALUES = tuple(k for k in _IMAGE_VALUES if not k.startswith("iptc"))


def _image(fmt: str, **options) -> Callable:
    def make(path: Path) -> None:
        imagegen.pattern().save(path, fmt, **options)

    return make


def _video(*codec_args: str) -> Callable:
    def make(path: Path) -> None:
        mediagen.ffmpeg(
            "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
            "-f", "lavfi", "-i", "sine=duration=1", *codec_args, path,
        )  # fmt: skip

    return make


def _m4a(path: Path) -> None:
    mediagen.ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", path)


def _pdf(path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 100))
    pdf.save(path)


_H264_AAC = ("-c:v", "libx264", "-c:a", "aac")

# name: (file name, how to make it, exiftool arguments, values to search for,
#        expected family, the cleaned copy's extension, categories that must be reported)
_IMAGE_CATEGORIES = {Category.GPS, Category.MAKE_MODEL, Category.AUTHOR, Category.XMP}
_MEDIA_CATEGORIES = {Category.GPS, Category.MAKE_MODEL, Category.AUTHOR, Category.DATES}
CASES = {
    "jpeg": ("a.jpg", _image("JPEG"), imagegen.exiftool_identifying_args(), _IMAGE_VALUES,
             "jpeg", "jpg", _IMAGE_CATEGORIES | {Category.IPTC}),
    "png": ("a.png", _image("PNG"), imagegen.exiftool_identifying_args(), _PNG_VALUES,
            "png", "png", _IMAGE_CATEGORIES | {Category.IPTC}),
    "apng": ("a.png", lambda p: imagegen.pattern().save(
                p, "PNG", save_all=True, append_images=[imagegen.pattern().rotate(180)]),
             imagegen.exiftool_identifying_args(), _PNG_VALUES, "png", "png",
             _IMAGE_CATEGORIES),
    # GIF holds no EXIF or IPTC: exiftool writes the XMP and the comment there.
    "gif": ("a.gif", _image("GIF"), imagegen.exiftool_identifying_args(),
            ("xmp_creator", "xmp_description", "comment"), "gif", "gif", {Category.XMP}),
    "webp": ("a.webp", _image("WEBP", lossless=True),
             imagegen.exiftool_identifying_args(jpeg_comment=False),
             tuple(k for k in _IMAGE_VALUES if not k.startswith("iptc") and k != "comment"),
             "webp", "webp", _IMAGE_CATEGORIES),
    "tiff": ("a.tif", _image("TIFF"), imagegen.exiftool_identifying_args(jpeg_comment=False),
             tuple(k for k in _IMAGE_VALUES if k != "comment"), "tiff", "png",
             _IMAGE_CATEGORIES),
    "heic": ("a.heic", _image("HEIF"), imagegen.exiftool_identifying_args(jpeg_comment=False),
             tuple(k for k in _IMAGE_VALUES if not k.startswith("iptc") and k != "comment"),
             "heif", "jpg", _IMAGE_CATEGORIES),
    "avif": ("a.avif", _image("AVIF"), imagegen.exiftool_identifying_args(jpeg_comment=False),
             tuple(k for k in _IMAGE_VALUES if not k.startswith("iptc") and k != "comment"),
             "heif", "jpg", _IMAGE_CATEGORIES),
    "mp4": ("a.mp4", _video(*_H264_AAC), [*_MEDIA_ARGS, "-Rotation=90"], _MEDIA_VALUES,
            "video", "mp4", _MEDIA_CATEGORIES),
    "mov": ("a.mov", _video(*_H264_AAC), [*_MEDIA_ARGS, "-Rotation=90"], _MEDIA_VALUES,
            "video", "mp4", _MEDIA_CATEGORIES),
    "m4v": ("a.m4v", _video(*_H264_AAC), [*_MEDIA_ARGS, "-Rotation=270"], _MEDIA_VALUES,
            "video", "mp4", _MEDIA_CATEGORIES),
    "3gp": ("a.3gp", _video("-c:v", "libx264", "-c:a", "aac", "-ar", "16000"),
            _MEDIA_ARGS, _MEDIA_VALUES, "video", "mp4", _MEDIA_CATEGORIES),
    "m4a": ("a.m4a", _m4a, _MEDIA_ARGS, _MEDIA_VALUES, "audio", "m4a", _MEDIA_CATEGORIES),
    "pdf": ("a.pdf", _pdf, _PDF_ARGS, _PDF_VALUES, "pdf", "pdf",
            {Category.AUTHOR, Category.SOFTWARE, Category.XMP, Category.REVISIONS}),
}  # fmt: skip


def _searchable(path: Path) -> bytes:
    return b"\n".join(expand(path.read_bytes()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_exiftool_written_tags_are_all_removed(case: str, tmp_path: Path) -> None:
    name, make, args, value_keys, family, extension, categories = CASES[case]
    src = tmp_path / name
    make(src)
    write_tags(src, *args)
    assert identify(src).family == family
    before = leaks(src)
    original = _searchable(src)
    values = [V[key] for key in value_keys]
    for value in values:  # exiftool really wrote each value
        assert any(form in original for form in encodings(value)), (value, before)

    out = tmp_path / "cleaned.bin"
    result = clean_file(src, out, Limits())

    assert result.extension == extension
    assert categories <= result.removed, sorted(result.removed)
    assert leaks(out) == []
    cleaned = _searchable(out)
    for value in values:
        for form in encodings(value):
            assert form not in cleaned, value


@pytest.mark.parametrize("case", ["mp4", "mov", "m4v"])
def test_exiftool_rotation_survives_the_cleaning(case: str, tmp_path: Path) -> None:
    name, make, args, *_ = CASES[case]
    src = tmp_path / name
    make(src)
    write_tags(src, *args)
    out = tmp_path / "cleaned.bin"
    clean_file(src, out, Limits())
    rotation = read_tags(src)["Composite:Rotation"]
    assert rotation in (90, 270)
    assert read_tags(out)["Composite:Rotation"] == rotation
    assert mediagen.displayed_first_frame(out) == mediagen.displayed_first_frame(src)
    size, _pixels = mediagen.displayed_first_frame(out)
    assert size == (48, 64)  # shown upright: the 64x48 picture turned on its side


@pytest.mark.parametrize(("fmt", "name"), [("TIFF", "a.tif"), ("HEIF", "a.heic")])
def test_device_profile_is_converted_in_re_encoded_families(fmt, name, tmp_path):
    from PIL import Image

    profile = imagegen.swapped_primaries_profile()
    src = tmp_path / name
    imagegen.pattern().save(src, fmt, icc_profile=profile)
    out = tmp_path / "cleaned.bin"
    result = clean_file(src, out, Limits())
    assert Category.ICC_PROFILE in result.removed
    with Image.open(src) as original, Image.open(out) as cleaned:
        # Converted to sRGB: no profile, or the one canonical sRGB profile.
        assert cleaned.info.get("icc_profile") in (None, icc.srgb_profile())
        expected = ImageCms.profileToProfile(
            original.convert("RGB"),
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
        )
        assert imagegen.mean_difference(cleaned, original) > 20  # the swap is visible
        assert imagegen.mean_difference(cleaned, expected) < 8
