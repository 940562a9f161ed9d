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

Pixels are written by :func:`portal.cleaning.pixels.save_pixels`, as for HEIF.
"""

from __future__ import annotations

from pathlib import Path

from PIL import TiffImagePlugin

from portal.cleaning import icc
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.cleaning.exif import exif_categories, xmp_categories
from portal.cleaning.pixels import check_size, open_image, save_pixels

_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_NEW_SUBFILE_TYPE = 0x00FE
_REDUCED_RESOLUTION = 1
_XMP_TAG = 700
_IPTC_TAGS = (33723, 34377)  # IPTC-NAA, Photoshop image resources
_ICC_TAG = 34675


def _pages(image: TiffImagePlugin.TiffImageFile, limits: Limits) -> list[bool]:
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


def _page_categories(image: TiffImagePlugin.TiffImageFile) -> set[Category]:
    found, _orientation = exif_categories(image.getexif())
    tags = image.tag_v2
    xmp = tags.get(_XMP_TAG)
    if xmp:
        found |= xmp_categories(xmp)
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
        image = open_image(src, "TIFF")
        assert isinstance(image, TiffImagePlugin.TiffImageFile)
        return image

    def _survey(
        self, image: TiffImagePlugin.TiffImageFile, limits: Limits
    ) -> tuple[int, set[Category]]:
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
