"""Pixels, as every image module meets them: sizes checked before decoding, cleaned
copies proven to decode, and decoded images written with nothing but their pixels.

* :func:`check_pixels` and :func:`check_size` refuse absurd dimensions from a header,
  before any pixel is decoded. Every image module checks here, so the pixel limit is
  enforced in one place.
* :func:`open_image` opens a file with Pillow for a module that decodes it, refusing
  what Pillow cannot read.
* :func:`verify_decodes` decodes an image whose compressed data is copied unchanged
  (JPEG scans, WebP/GIF frames): a corrupt stream would otherwise pass through, so a
  failure is refused as malformed.
* :func:`save_pixels` writes a decoded image (TIFF, HEIF, AVIF) upright as a fresh
  JPEG or PNG. It builds a new image from the raw pixel bytes, so no encoder can copy
  the original's EXIF, XMP or comments across: decoders (pillow-heif, Pillow's AVIF
  plugin) put them in ``image.info`` and a naive save writes them back.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, ImageSequence

from portal.cleaning import icc
from portal.cleaning.base import Cleaned, Kind, Limits, Refusal, RefusalCode

_PNG_MODES = {"1", "L", "LA", "RGB", "RGBA", "I;16", "I"}
# Encoder settings, measured on the corpus (bench/clean.py, issue 15). JPEG quality 92
# as before; ``optimize`` (a second pass for Huffman tables) is off: the decoded pixels
# are bit for bit the same, the file about 1% larger, the encode twice as fast. PNG
# at zlib level 1 instead of 6: lossless either way, about 5% larger, twice as fast.
_JPEG_QUALITY = 92
_PNG_COMPRESS_LEVEL = 1


def check_pixels(width: int, height: int, limits: Limits) -> None:
    """Refuse an image, frame or canvas of more pixels than the limits allow."""
    if width * height > limits.max_pixels:
        raise Refusal(RefusalCode.TOO_LARGE, f"{width}x{height} pixels")


def check_size(size: tuple[int, int], limits: Limits) -> None:
    """Refuse zero or absurd dimensions before any pixel is decoded."""
    width, height = size
    if width <= 0 or height <= 0:
        raise Refusal(RefusalCode.MALFORMED, "zero dimensions")
    check_pixels(width, height, limits)


def open_image(src: Path, format_name: str) -> Image.Image:
    """``src`` opened by Pillow as ``format_name``: headers read, no pixel decoded.
    Refuses what Pillow cannot read, and what it takes for a decompression bomb."""
    try:
        return Image.open(src, formats=[format_name])
    except Image.DecompressionBombError as exc:
        raise Refusal(RefusalCode.TOO_LARGE, "pillow decompression bomb") from exc
    except (OSError, SyntaxError, ValueError, RuntimeError) as exc:  # AVIF: RuntimeError
        detail = f"not a readable {format_name}: {type(exc).__name__}"
        raise Refusal(RefusalCode.MALFORMED, detail) from exc


def verify_decodes(source: Path | bytes, format_name: str, *, reduced: bool = False) -> None:
    """Decode every frame of ``source`` (a file, or a whole file's bytes) with Pillow;
    refuse it as malformed if any fails. Sizes, frame counts and the pixel budget must
    already have been checked: Pillow composes each frame of an animation on the full
    canvas, so animations are proven frame by frame by their modules instead, each
    frame passed here as a file of its own.

    ``reduced`` decodes at 1/8 scale where the format allows it (JPEG's DCT scaling):
    every coded byte is still read and checked, at a fraction of the cost.
    """
    opened = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(opened, formats=[format_name]) as image:
            if reduced:
                image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            for frame in ImageSequence.Iterator(image):
                frame.load()
    except Image.DecompressionBombError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise Refusal(RefusalCode.MALFORMED, f"image data does not decode: {exc}") from exc


def bare_image(mode: str, size: tuple[int, int], buffer: bytes, stride: int) -> Image.Image:
    """An image over a decoder's pixel ``buffer`` (rows ``stride`` bytes apart), made
    without copying: a plain :class:`PIL.Image.Image` with nothing in its info, so no
    encoder finds metadata to copy across (see :func:`save_pixels`)."""
    return Image.frombuffer(mode, size, buffer, "raw", mode, stride, 1)


def _is_bare(image: Image.Image, modes: set[str]) -> bool:
    """Whether ``image`` holds pixels and nothing else: a plain Image (no format
    plugin's attributes), an empty info and no palette. Encoders read metadata from
    the info and from their own arguments only."""
    return type(image) is Image.Image and not image.info and image.mode in modes


def _bare_copy(image: Image.Image, modes: set[str]) -> Image.Image:
    """A new image holding only ``image``'s pixels: no info, no EXIF, no palette
    extras, so no encoder can copy metadata across. An image that is bare already
    (:func:`_is_bare`) is used as it is."""
    if _is_bare(image, modes):
        return image
    has_alpha = image.has_transparency_data
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
    transparency; otherwise PNG, losslessly. ``image`` is not copied when it is bare
    already (:func:`bare_image`)."""
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        image = ImageOps.exif_transpose(image)  # upright (it copies even when not)
    image, profile = icc.prepare_for_save(image, profile)
    extra = {"icc_profile": profile} if profile else {}
    if photo and not image.has_transparency_data:
        # RGBX is RGB with a padding byte, and the JPEG encoder writes it as RGB.
        bare = _bare_copy(image, {"L", "RGB", "RGBX"})
        if bare.mode not in ("L", "RGB", "RGBX"):
            bare = bare.convert("RGB")
        bare.save(dst, "JPEG", quality=_JPEG_QUALITY, **extra)
        return Cleaned(Kind.IMAGE, source_format, "image/jpeg", "jpg")
    bare = _bare_copy(image, _PNG_MODES)
    bare.save(dst, "PNG", compress_level=_PNG_COMPRESS_LEVEL, **extra)
    return Cleaned(Kind.IMAGE, source_format, "image/png", "png")
