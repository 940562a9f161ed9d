"""TIFF cleaning by decoding and re-encoding as PNG.

TIFF keeps metadata in the same tag directories as the pixels, alongside private
tags no list could ever cover, so nothing of the original structure is kept: the
image is decoded, turned upright (EXIF orientation applied), and written as a fresh
PNG holding only pixels and, under the policy of :mod:`portal.cleaning.icc`, a
canonical colour profile. 8- and 16-bit grey, grey+alpha, RGB and RGBA stay lossless;
CMYK, YCbCr and Lab become RGB.

Multi-page TIFFs: only one page is kept, the first full-resolution one. Pages marked
as reduced-resolution (thumbnails, previews) are dropped and reported as
``THUMBNAIL``; further full pages (fax or scan batches) are dropped and reported as
``EMBEDDED``, so the receipt tells the tipster that part of the file was not kept.
Camera raw files built on TIFF (DNG, NEF, CR2, ARW) arrive here too; what Pillow can
decode of them is usually an embedded preview, which is what gets kept.

:func:`save_pixels` writes any decoded image this way; the HEIF module uses it too.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, TiffImagePlugin

from portal.cleaning import icc
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.cleaning.jpeg import exif_categories, xmp_categories

_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_NEW_SUBFILE_TYPE = 0x00FE
_REDUCED_RESOLUTION = 1
_XMP_TAG = 700
_IPTC_TAGS = (33723, 34377)  # IPTC-NAA, Photoshop image resources
_ICC_TAG = 34675
_PNG_MODES = {"1", "L", "LA", "RGB", "RGBA", "I;16", "I"}
_JPEG_QUALITY = 92


def check_size(size: tuple[int, int], limits: Limits) -> None:
    """Refuse absurd dimensions before any pixel is decoded."""
    width, height = size
    if width <= 0 or height <= 0:
        raise Refusal(RefusalCode.MALFORMED, "zero dimensions")
    if width * height > limits.max_pixels:
        raise Refusal(RefusalCode.TOO_LARGE, f"{width}x{height} pixels")


def _bare_copy(image: Image.Image, modes: set[str]) -> Image.Image:
    """A new image holding only ``image``'s pixels: no info, no EXIF, no palette
    extras, so no encoder can copy metadata across."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or ("transparency" in image.info)
    if image.mode in ("I;16B", "I;16L", "I;16N"):
        image = image.convert("I")
    elif image.mode not in modes:
        if image.mode == "F":
            raise Refusal(RefusalCode.CLEANING_FAILED, "floating-point pixels")
        if image.mode in ("L", "LA", "La") or (image.mode == "1"):
            image = image.convert("LA" if has_alpha else "L")
        else:
            image = image.convert("RGBA" if has_alpha else "RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def save_pixels(
    image: Image.Image, profile: bytes | None, dst: Path, *, photo: bool, source_format: str
) -> Cleaned:
    """Write ``image`` (decoded, with its colour profile bytes) upright to ``dst``
    with no metadata. ``photo`` chooses JPEG at quality 92 when the image has no
    transparency; otherwise PNG, losslessly."""
    image = ImageOps.exif_transpose(image)
    image, profile = icc.prepare_for_save(image, profile)
    extra = {"icc_profile": profile} if profile else {}
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or ("transparency" in image.info)
    if photo and not has_alpha:
        bare = _bare_copy(image, {"L", "RGB"})
        if bare.mode not in ("L", "RGB"):
            bare = bare.convert("RGB")
        bare.save(dst, "JPEG", quality=_JPEG_QUALITY, optimize=True, **extra)
        return Cleaned("image", source_format, "image/jpeg", "jpg")
    bare = _bare_copy(image, _PNG_MODES)
    bare.save(dst, "PNG", **extra)
    return Cleaned("image", source_format, "image/png", "png")


def _pages(image: Image.Image, limits: Limits) -> list[bool]:
    """For each page, whether it is marked reduced-resolution. Reads directories
    only, never pixels."""
    reduced = []
    index = 0
    while True:
        if index >= limits.max_frames:
            raise Refusal(RefusalCode.TOO_LARGE, "too many pages")
        subfile = image.tag_v2.get(_NEW_SUBFILE_TYPE, 0)
        reduced.append(bool(isinstance(subfile, int) and subfile & _REDUCED_RESOLUTION))
        check_size(image.size, limits)
        index += 1
        try:
            image.seek(index)
        except EOFError:
            return reduced
        except (OSError, ValueError, TypeError) as exc:  # TypeError: no width or height
            raise Refusal(RefusalCode.MALFORMED, f"unreadable page: {exc}") from exc


def _page_categories(image: Image.Image) -> set[Category]:
    found, _orientation = exif_categories(image.getexif())
    tags = image.tag_v2
    xmp = tags.get(_XMP_TAG)
    if xmp:
        found |= xmp_categories(xmp if isinstance(xmp, bytes) else str(xmp).encode())
    if any(tag in tags for tag in _IPTC_TAGS):
        found.add(Category.IPTC)
    profile = tags.get(_ICC_TAG)
    if profile is not None and not (
        isinstance(profile, bytes) and icc.is_standard_profile(profile)
    ):
        found.add(Category.ICC_PROFILE)
    return found


class TiffCleaner(FormatCleaner):
    family = "tiff"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.startswith(_SIGNATURES)

    def _open(self, src: Path) -> TiffImagePlugin.TiffImageFile:
        try:
            image = Image.open(src, formats=["TIFF"])
        except Image.DecompressionBombError as exc:
            raise Refusal(RefusalCode.TOO_LARGE, "pillow decompression bomb") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise Refusal(RefusalCode.MALFORMED, f"not a readable TIFF: {exc}") from exc
        assert isinstance(image, TiffImagePlugin.TiffImageFile)
        return image

    def _survey(self, image: Image.Image, limits: Limits) -> tuple[int, set[Category]]:
        """The page to keep and what the whole file carries."""
        reduced = _pages(image, limits)
        found: set[Category] = set()
        for index in range(len(reduced)):
            image.seek(index)
            found |= _page_categories(image)
        keep = next((i for i, small in enumerate(reduced) if not small), 0)
        others = [small for i, small in enumerate(reduced) if i != keep]
        if any(others):
            found.add(Category.THUMBNAIL)
        if not all(others):
            found.add(Category.EMBEDDED)
        return keep, found

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        with self._open(src) as image:
            return self._survey(image, limits)[1]

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        with self._open(src) as image:
            keep, found = self._survey(image, limits)
            image.seek(keep)
            profile = image.info.get("icc_profile")
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as exc:
                raise Refusal(RefusalCode.MALFORMED, f"pixels do not decode: {exc}") from exc
            result = save_pixels(image, profile, dst, photo=False, source_format="TIFF")
        return Cleaned(result.kind, result.format, result.mime, result.extension, frozenset(found))


CLEANER = TiffCleaner()
