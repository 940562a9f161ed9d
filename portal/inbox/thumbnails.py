"""Small JPEG previews of cleaned images, made on request, so that an editor on a phone
does not download every full photo to see a submission's page.

Nothing is cached: a thumbnail is made in memory each time, from the stored file
decrypted as it is read, and never touches the disk.
The source was cleaned already, but it is still a stranger's file, so its size is
checked against the cleaner's pixel bound before anything is decoded, and any file
Pillow cannot read gives no thumbnail (the page then links to the image instead).
The JPEG is written without EXIF, ICC or comments; the orientation the photo asked for
is applied to the pixels.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

from portal.cleaning.base import Limits

#: the longest side of a thumbnail, in pixels
MAX_SIDE = 480
QUALITY = 80
#: the largest box, in CSS pixels, a thumbnail is shown in; smaller than MAX_SIDE so
#: that screens with two device pixels per CSS pixel or fewer still see it sharp
DISPLAY_BOX = (384, 288)
#: EXIF orientations that swap width and height (rotations by 90 or 270 degrees)
_TURNED = {5, 6, 7, 8}
_ORIENTATION = 0x0112


class NoThumbnail(Exception):
    """The file cannot be previewed: unreadable, too large, or not an image."""


def _open(path: Path | BinaryIO, limits: Limits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning: the cleaner's bound below is the one that counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise NoThumbnail(str(error)) from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > limits.max_pixels:
        image.close()
        raise NoThumbnail(f"{width}x{height} is outside the bounds")
    return image


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block: show the pixels as stored
        return 1
    return value if isinstance(value, int) else 1


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` picture scaled to fit ``max_side`` (never up)."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_size(
    path: Path | BinaryIO, limits: Limits | None = None, max_side: int = MAX_SIDE
) -> tuple[int, int] | None:
    """The width and height :func:`make_thumbnail` will produce for ``path``, read from
    the header only (for ``<img width height>``); None if it cannot make one."""
    try:
        with _open(path, limits or Limits()) as image:
            width, height = image.size
            if _orientation(image) in _TURNED:
                width, height = height, width
    except NoThumbnail:
        return None
    return _fit(width, height, max_side)


def display_size(size: tuple[int, int], box: tuple[int, int] = DISPLAY_BOX) -> tuple[int, int]:
    """The ``width`` and ``height`` attributes that show a thumbnail of ``size`` within
    ``box`` with its proportions (CSS only narrows it further, keeping them)."""
    width, height = size
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(image: Image.Image) -> Image.Image:
    """RGB (or L) pixels; transparency becomes white, as the page's background."""
    if image.mode in {"RGB", "L"}:
        return image
    if (image.mode == "P" and "transparency" in image.info) or image.mode in {"RGBA", "LA", "PA"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def make_thumbnail(
    path: Path | BinaryIO, limits: Limits | None = None, max_side: int = MAX_SIDE
) -> bytes:
    """A JPEG of the image at ``path`` whose longest side is at most ``max_side``, turned
    the way its EXIF orientation says, with no metadata. Raises :class:`NoThumbnail`."""
    limits = limits or Limits()
    with _open(path, limits) as image:
        turned = _orientation(image) in _TURNED
        stored_w, stored_h = image.size
        shown = (stored_h, stored_w) if turned else (stored_w, stored_h)
        target = _fit(*shown, max_side)
        try:
            # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no smaller than the target.
            image.draft("RGB", (target[1], target[0]) if turned else target)
            upright = ImageOps.exif_transpose(image)
            small = _flatten(upright).resize(target, Image.Resampling.LANCZOS)
        except (OSError, ValueError, SyntaxError) as error:
            raise NoThumbnail(str(error)) from error
    # Pillow's JPEG writer falls back to the image's own comment: start from nothing.
    small.info = {}
    out = io.BytesIO()
    small.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()
