"""Small JPEG previews of cleaned images, so that an editor on a phone does not download
every full photo to see a submission's page.

A thumbnail is made once, when the submission is filed (:func:`write_thumbnail`, called
by :mod:`portal.public.filing` for each cleaned image, from its plaintext before that
is deleted), and stored beside the cleaned file in the submission's folder, encrypted
like it (an age file to the same inbox key), under a generated name recorded in
``StoredFile.thumbnail_name``: a thumbnail request then decrypts a file of a few
kilobytes, whatever the original's size. Submissions filed before thumbnails were
stored have none (``thumbnail_name`` is NULL); the inbox makes theirs on first request,
one at a time per worker. An empty ``thumbnail_name`` means none can be made.

The source was cleaned already, but it is still a stranger's file, so its size is
checked against the cleaner's pixel bound before anything is decoded, and any file
Pillow cannot read gives no thumbnail (the page then links to the image instead).
Decoding is the only full-size step: the picture is reduced first, then turned and
flattened, so a 100-megapixel image costs one decoded copy of itself, not four.
The JPEG is written without EXIF, ICC or comments; the orientation the photo asked for
is applied to the pixels.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from portal.cleaning.base import Limits
from portal.crypto import age
from portal.crypto.files import encrypt_bytes
from portal.models import new_id

#: the longest side of a thumbnail, in pixels
MAX_SIDE = 480
QUALITY = 80
#: the largest box, in CSS pixels, a thumbnail is shown in; smaller than MAX_SIDE so
#: that screens with two device pixels per CSS pixel or fewer still see it sharp
DISPLAY_BOX = (384, 288)
#: EXIF orientations that swap width and height (rotations by 90 or 270 degrees)
_TURNED = {5, 6, 7, 8}
_ORIENTATION = 0x0112
#: how to turn the stored pixels upright, by EXIF orientation
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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


def _reduced(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` scaled down to ``size``, decoding it once and copying nothing else
    at full size. Palette and bilevel pixels can only be picked, not filtered: they
    are picked down to twice the size first, then filtered."""
    if image.mode in {"1", "P", "PA"}:
        picked = _fit(*image.size, 2 * max(size))
        image = image.resize(picked, Image.Resampling.NEAREST)
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    try:
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    except ValueError:  # a mode resize cannot filter (16-bit and the like)
        return image.convert("RGBA" if image.has_transparency_data else "RGB").resize(
            size, Image.Resampling.LANCZOS, reducing_gap=3.0
        )


def make_thumbnail(
    path: Path | BinaryIO, limits: Limits | None = None, max_side: int = MAX_SIDE
) -> bytes:
    """A JPEG of the image at ``path`` whose longest side is at most ``max_side``, turned
    the way its EXIF orientation says, with no metadata. Raises :class:`NoThumbnail`."""
    limits = limits or Limits()
    with _open(path, limits) as image:
        orientation = _orientation(image)
        stored = _fit(*image.size, max_side)
        try:
            # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no smaller than the target.
            image.draft("RGB", stored)
            small = _reduced(image, stored)
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            raise NoThumbnail(str(error)) from error
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
    small = _flatten(small)
    # Pillow's JPEG writer falls back to the image's own comment: start from nothing.
    small.info = {}
    out = io.BytesIO()
    small.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def write_thumbnail(
    image: Path | BinaryIO, folder: Path, recipient: age.Recipient, limits: Limits | None = None
) -> str:
    """Make the thumbnail of ``image`` (a cleaned image's plaintext) as a new age file
    in ``folder``, encrypted to ``recipient`` (written in full, fsynced and renamed into
    place, mode 0600). Returns its generated name, or "" when the image cannot have
    one. The folder itself is not fsynced: filing does that once for the whole
    staging folder; a caller writing into a filed folder must."""
    try:
        data = make_thumbnail(image, limits)
    except NoThumbnail:
        return ""
    name = f"{new_id()}.age"
    encrypt_bytes(data, folder / name, recipient)
    return name
