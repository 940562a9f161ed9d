"""HEIC, HEIF and AVIF cleaning by decoding and re-encoding as JPEG (or PNG).

These are ISO-BMFF files: metadata lives in item boxes (EXIF, XMP), beside depth
maps, auxiliary images, thumbnails and image sequences. Nothing of the container is
kept: the primary image alone is decoded, turned upright and written as a JPEG at
quality 92 (PNG when it has transparency) with no metadata, only a canonical colour
profile (see :mod:`portal.cleaning.icc`).

Recognised strictly by the major brand in the ``ftyp`` box: HEIF image brands here;
video (mp4, qt, 3gp, ...) and audio (M4A) brands belong to other modules. HEVC-coded
files are decoded by pillow-heif (libheif), AV1-coded AVIF files by Pillow's own
AVIF plugin (pillow-heif is built without an AV1 decoder). Dimensions are read from
the container and checked before anything is decoded. Sniffing reads bytes only;
pillow-heif is imported when a HEVC-coded file is first opened.

Caution for whoever touches this: ``HeifImage.to_pillow()`` and Pillow's AVIF plugin
put the original EXIF (GPS included) and XMP in ``image.info``, and a naive save
writes them back. :func:`portal.cleaning.pixels.save_pixels` copies pixels only.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from portal.cleaning import hevc, icc
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
    read_head,
)
from portal.cleaning.exif import exif_categories, xmp_categories
from portal.cleaning.pixels import bare_image, check_size, open_image, save_pixels

if TYPE_CHECKING:
    import pillow_heif

_HEVC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_AV1_BRANDS = {b"avif", b"avis", b"avio"}
_GENERIC_BRANDS = {b"mif1", b"msf1", b"mif2", b"miaf"}


def _brands(head: bytes) -> tuple[bytes, set[bytes]] | None:
    """Major and compatible brands of a leading ``ftyp`` box, or None."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    (size,) = struct.unpack(">I", head[:4])
    if size < 16 or size > len(head):
        return None
    compatible = {head[i : i + 4] for i in range(16, size - 3, 4)}
    return head[8:12], compatible


def _is_av1(head: bytes) -> bool:
    brands = _brands(head)
    if brands is None:
        return False
    major, compatible = brands
    if major in _AV1_BRANDS:
        return True
    return major in _GENERIC_BRANDS and bool(compatible & _AV1_BRANDS)


def _malformed(exc: Exception) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, f"not a readable HEIF/AVIF: {type(exc).__name__}")


def _info_categories(info: dict) -> set[Category]:
    """What the metadata items of an image (as pillow-heif or Pillow report them)
    carry."""
    found: set[Category] = set()
    exif = info.get("exif")
    if exif:
        found |= exif_categories(bytes(exif))[0]
    xmp = info.get("xmp")
    if xmp:
        found |= xmp_categories(xmp)
    profile = info.get("icc_profile")
    if profile and not icc.is_standard_profile(bytes(profile)):
        found.add(Category.ICC_PROFILE)
    if info.get("thumbnails"):
        found.add(Category.THUMBNAIL)
    if info.get("depth_images") or info.get("aux"):
        found.add(Category.EMBEDDED)
    if info.get("metadata"):
        found.add(Category.HIDDEN_DATA)
    return found


class HeifCleaner(FormatCleaner):
    family = "heif"

    def sniff(self, head: bytes, path: Path) -> bool:
        brands = _brands(head)
        if brands is None:
            return False
        major, _compatible = brands
        return major in _HEVC_BRANDS | _AV1_BRANDS | _GENERIC_BRANDS

    # -- HEVC through pillow-heif ---------------------------------------------------

    def _open_heif(self, src: Path, limits: Limits) -> pillow_heif.HeifFile:
        import pillow_heif  # only when a HEIC file is met: it loads libheif

        try:
            heif = pillow_heif.open_heif(src, convert_hdr_to_8bit=True)
        except (OSError, ValueError, RuntimeError) as exc:
            raise _malformed(exc) from exc
        if len(heif) > limits.max_frames:
            raise Refusal(RefusalCode.TOO_LARGE, "too many images")
        for image in heif:
            check_size(image.size, limits)
        return heif

    def _heif_categories(self, heif: pillow_heif.HeifFile) -> set[Category]:
        found: set[Category] = set()
        for image in heif:
            found |= _info_categories(image.info)
        if len(heif) > 1:
            found.add(Category.THUMBNAIL)
        return found

    # -- AV1 through Pillow ---------------------------------------------------------

    def _open_avif(self, src: Path, limits: Limits) -> Image.Image:
        image = open_image(src, "AVIF")
        check_size(image.size, limits)
        if getattr(image, "n_frames", 1) > limits.max_frames:
            image.close()
            raise Refusal(RefusalCode.TOO_LARGE, "too many frames")
        return image

    @staticmethod
    def _avif_categories(image: Image.Image) -> set[Category]:
        found = _info_categories(image.info)
        if getattr(image, "n_frames", 1) > 1:
            found.add(Category.EMBEDDED)
        return found

    # -- FormatCleaner --------------------------------------------------------------

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        if _is_av1(read_head(src)):
            with self._open_avif(src, limits) as image:
                return self._avif_categories(image)
        return self._heif_categories(self._open_heif(src, limits))

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        if _is_av1(read_head(src)):
            with self._open_avif(src, limits) as image:
                found = self._avif_categories(image)
                profile = image.info.get("icc_profile")
                try:
                    image.load()
                except (OSError, SyntaxError, ValueError, RuntimeError) as exc:
                    raise _malformed(exc) from exc
                result = save_pixels(image, profile, dst, photo=True, source_format="AVIF")
        else:
            heif = self._open_heif(src, limits)
            found = self._heif_categories(heif)
            primary = heif[heif.primary_index]
            profile = primary.info.get("icc_profile")
            # The common case (HEVC tiles, no alpha) decodes faster with FFmpeg; the
            # rest, and whatever that path does not take whole, goes to libheif.
            fast = None
            if primary.mode == "RGB":
                fast = hevc.decode_primary(src, primary.size, limits.max_pixels)
            if fast is not None:
                image = fast
            else:
                try:
                    # Decoded once (libheif applies the crop, rotation and mirroring),
                    # then wrapped without a copy and without pillow-heif's info.
                    pixels = primary.data
                    if primary.mode in ("L", "RGB", "RGBA"):
                        image = bare_image(primary.mode, primary.size, pixels, primary.stride)
                    else:
                        image = primary.to_pillow()
                except (OSError, ValueError, RuntimeError) as exc:
                    raise _malformed(exc) from exc
            result = save_pixels(image, profile, dst, photo=True, source_format="HEIC")
        return Cleaned(result.kind, result.format, result.mime, result.extension, frozenset(found))


CLEANER = HeifCleaner()
