"""The colour-profile policy shared by every image module.

An ICC profile says how to turn pixel numbers into colours. Standard colour-space
profiles (sRGB, Display P3, Adobe RGB, Rec. 2020, ProPhoto) are the same on millions
of devices and say nothing about who made a picture. Device and camera profiles can
name a printer, a scanner or a calibrated monitor, and every profile header carries a
creation date, the creating software (CMM), a platform and a manufacturer.

Policy:

* :func:`is_standard_profile` recognises a well-known colour space by its header
  (display or colour-space class, RGB or grey data) and its description.
  Only profiles that are *not* standard are reported as ``Category.ICC_PROFILE``.
* A standard profile is never kept byte for byte: :func:`canonical_profile` re-emits
  it with an all-zero header date, creator, CMM, platform, manufacturer, model and
  profile id, a fresh description, and only the colorimetric tags (white point,
  primaries, tone curves, adaptation). Copyright, device description, vendor-private
  and calibration tags are dropped. Every sRGB variant becomes one fixed canonical sRGB
  profile built by littleCMS (``ImageCms.createProfile("sRGB")``), so all cleaned
  sRGB files carry identical profile bytes. Other standard spaces keep their own
  primaries and curves (needed to show wide-gamut colours right).
* A non-standard profile is either converted away (:func:`to_srgb`, for modules
  that re-encode pixels) or dropped (modules that copy compressed data unchanged,
  such as JPEG). :func:`prepare_for_save` applies the policy for re-encoders;
  :func:`policy_for_copied_image` for the PNG and WebP modules, which copy pixels
  unless a device profile forces one re-encode.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable
from functools import cache
from typing import Protocol, TypeVar

from PIL import Image, ImageCms, ImageSequence

from portal.cleaning.base import Limits, Refusal, RefusalCode

_HEADER_SIZE = 128

# Normalised descriptions of well-known colour spaces, mapped to the name written into
# the canonical copy. Exact matches only: "sRGB-ish" vendor names stay non-standard.
_SRGB = "sRGB IEC61966-2.1"
_STANDARD_NAMES = {
    "srgb": _SRGB,
    "srgb iec61966-2.1": _SRGB,
    "srgb iec61966-2-1": _SRGB,
    "srgb iec61966-2-1 black scaled": _SRGB,
    "srgb iec61966-2-1 no black scaling": _SRGB,
    "srgb built-in": _SRGB,
    "gimp built-in srgb": _SRGB,
    "srgb2014": _SRGB,
    "srgb v4 icc preference perceptual intent beta": _SRGB,
    "display p3": "Display P3",
    "p3 d65": "Display P3",
    "dci-p3 d65": "Display P3",
    "adobe rgb (1998)": "Adobe RGB (1998)",
    "compatible with adobe rgb (1998)": "Adobe RGB (1998)",
    "rec. 2020": "Rec. 2020",
    "rec.2020": "Rec. 2020",
    "rec2020": "Rec. 2020",
    "itu-r bt.2020": "Rec. 2020",
    "prophoto rgb": "ProPhoto RGB",
    "romm-rgb": "ProPhoto RGB",
    "gray gamma 2.2": "Gray Gamma 2.2",
    "generic gray gamma 2.2 profile": "Gray Gamma 2.2",
    "dot gain 20%": "Dot Gain 20%",
}
_STANDARD_CLASSES = {b"mntr", b"spac"}
_STANDARD_SPACES = {b"RGB ", b"GRAY"}

# Tags kept in a canonical copy, with the tag types each may have.
_XYZ = {b"XYZ "}
_CURVE = {b"curv", b"para"}
_KEPT_TAGS = {
    b"wtpt": _XYZ,
    b"bkpt": _XYZ,
    b"rXYZ": _XYZ,
    b"gXYZ": _XYZ,
    b"bXYZ": _XYZ,
    b"rTRC": _CURVE,
    b"gTRC": _CURVE,
    b"bTRC": _CURVE,
    b"kTRC": _CURVE,
    b"chad": {b"sf32"},
    b"chrm": {b"chrm"},
    b"cicp": {b"cicp"},
}
_MAX_TAG_SIZE = 64 * 1024


class _Parsed:
    """The header fields and tag table of a profile, checked for consistency."""

    def __init__(self, icc: bytes) -> None:
        if len(icc) < _HEADER_SIZE + 4 or icc[36:40] != b"acsp":
            raise ValueError("not an ICC profile")
        (size,) = struct.unpack(">I", icc[:4])
        if size > len(icc) or size < _HEADER_SIZE + 4:
            raise ValueError("bad profile size")
        self.data = icc[:size]
        self.major_version = icc[8]
        self.device_class = icc[12:16]
        self.color_space = icc[16:20]
        self.pcs = icc[20:24]
        (count,) = struct.unpack(">I", icc[128:132])
        if 132 + 12 * count > size:
            raise ValueError("bad tag count")
        self.tags: dict[bytes, bytes] = {}
        for i in range(count):
            sig, offset, length = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
            if offset + length > size or length < 8:
                raise ValueError("tag outside profile")
            self.tags[sig] = self.data[offset : offset + length]


def _description(icc: bytes) -> str:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
        return profile.profile_description or ""
    except (OSError, ValueError, TypeError):
        return ""


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\x00", "")).strip().lower()


def _standard_name(icc: bytes) -> str | None:
    try:
        parsed = _Parsed(icc)
    except (ValueError, struct.error):
        return None
    if parsed.device_class not in _STANDARD_CLASSES:
        return None
    if parsed.color_space not in _STANDARD_SPACES or parsed.pcs not in {b"XYZ ", b"Lab "}:
        return None
    return _STANDARD_NAMES.get(_normalise(_description(parsed.data)))


def is_standard_profile(icc: bytes) -> bool:
    """Whether ``icc`` describes a well-known colour space rather than a device.

    Judged by the header (display or colour-space class, RGB or grey data, a valid
    size and tag table) and the profile description.
    """
    return _standard_name(icc) is not None


def _text_tag(name: str, major_version: int) -> bytes:
    if major_version >= 4:
        text = name.encode("utf-16-be")
        return b"mluc" + struct.pack(">III2s2sII", 0, 1, 12, b"en", b"US", len(text), 28) + text
    ascii_text = name.encode("ascii") + b"\x00"
    # textDescriptionType: ASCII part, then empty Unicode and ScriptCode parts.
    return (
        b"desc"
        + struct.pack(">II", 0, len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\x00" * 67
    )


def _rebuild(parsed: _Parsed, name: str) -> bytes:
    tags: list[tuple[bytes, bytes]] = [(b"desc", _text_tag(name, parsed.major_version))]
    for sig, allowed_types in _KEPT_TAGS.items():
        body = parsed.tags.get(sig)
        if body is None:
            continue
        if body[:4] not in allowed_types or len(body) > _MAX_TAG_SIZE:
            raise ValueError(f"unexpected {sig!r} tag")
        tags.append((sig, body))
    table = struct.pack(">I", len(tags))
    blobs = b""
    offset = _HEADER_SIZE + 4 + 12 * len(tags)
    for sig, body in tags:
        table += struct.pack(">4sII", sig, offset + len(blobs), len(body))
        blobs += body + b"\x00" * (-len(body) % 4)
    total = _HEADER_SIZE + len(table) + len(blobs)
    header = bytearray(_HEADER_SIZE)
    header[0:4] = struct.pack(">I", total)
    header[8:12] = parsed.data[8:12]  # version
    header[12:24] = parsed.data[12:24]  # class, colour space, PCS
    header[36:40] = b"acsp"
    header[64:68] = parsed.data[64:68]  # rendering intent
    header[68:80] = parsed.data[68:80]  # PCS illuminant
    # date, CMM, platform, flags, manufacturer, model, attributes, creator and
    # profile id stay zero: they can only name software or a device.
    return bytes(header) + table + blobs


@cache
def srgb_profile() -> bytes:
    """The canonical sRGB profile every cleaned sRGB image carries."""
    built = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _rebuild(_Parsed(built), _SRGB)


def canonical_profile(icc: bytes) -> bytes:
    """The bytes to embed in place of the standard profile ``icc``.

    Raises ValueError if ``icc`` is not a standard profile.
    """
    name = _standard_name(icc)
    if name is None:
        raise ValueError("not a standard colour-space profile")
    if name == _SRGB:
        return srgb_profile()
    rebuilt = _rebuild(_Parsed(icc), name)
    # The copy must still be a profile littleCMS can use.
    ImageCms.ImageCmsProfile(io.BytesIO(rebuilt))
    return rebuilt


def to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """``image`` (whose pixels are in the colour space of ``icc``) converted to sRGB.

    Returns an "RGB" or "RGBA" image with no ``icc_profile`` in its info. Raises
    ValueError if the profile cannot be used for this image.
    """
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError("unreadable ICC profile") from exc
    space = _Parsed(icc).color_space
    has_alpha = image.has_transparency_data
    if space == b"RGB ":
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif space == b"GRAY":
        image = image.convert("LA" if has_alpha else "L")
    elif space == b"CMYK":
        if image.mode != "CMYK":
            raise ValueError("CMYK profile on a non-CMYK image")
    else:
        raise ValueError("unsupported profile colour space")
    alpha = image.getchannel("A") if has_alpha else None
    base = image.convert("L") if image.mode == "LA" else image
    if base.mode == "RGBA":
        base = base.convert("RGB")
    try:
        converted = ImageCms.profileToProfile(
            base,
            source,
            ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        raise ValueError("colour conversion failed") from exc
    assert converted is not None  # profileToProfile returns an image unless inPlace
    if alpha is not None:
        converted.putalpha(alpha)
    converted.info.pop("icc_profile", None)
    return converted


def prepare_for_save(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Apply the policy for a module that re-encodes pixels.

    Returns the image to encode and the profile bytes to embed (None for none): a
    standard profile becomes its canonical copy; a non-standard one is converted to
    sRGB; a profile that cannot be read or used is dropped (its colours may shift,
    which costs nothing in privacy).
    """
    if not icc:
        return image, None
    try:
        space = _Parsed(icc).color_space
    except (ValueError, struct.error):
        return image, None
    expected = {"1": b"GRAY", "L": b"GRAY", "LA": b"GRAY", "CMYK": b"CMYK"}.get(image.mode, b"RGB ")
    if space != expected:
        # The profile does not describe these pixels (a grey profile on colour
        # pixels, ...): it cannot be trusted for a conversion either.
        return image, None
    if is_standard_profile(icc):
        try:
            return image, canonical_profile(icc)
        except ValueError:
            pass
    else:
        try:
            return to_srgb(image, icc), srgb_profile()
        except ValueError:
            pass
    return image, None


def srgb_frames(image: Image.Image, icc: bytes) -> tuple[list[Image.Image], list[int]]:
    """Every frame of ``image`` converted from ``icc`` to sRGB, and each frame's
    duration (0 when it has none). Raises ValueError as :func:`to_srgb` does."""
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        frames.append(to_srgb(frame.copy(), icc))
        durations.append(frame.info.get("duration", 0))
    return frames, durations


class _HasProfile(Protocol):
    profile: bytes | None


_Parsed_T = TypeVar("_Parsed_T", bound=_HasProfile)


def policy_for_copied_image(
    data: bytes,
    parsed: _Parsed_T,
    limits: Limits,
    *,
    reencode: Callable[[bytes, _Parsed_T, Limits], bytes],
    parse: Callable[[bytes, Limits], _Parsed_T],
) -> tuple[_Parsed_T, bytes | None]:
    """Apply the policy to an image whose compressed pixels are copied unchanged.

    ``parsed`` is the module's parse of ``data`` (its ``profile`` the raw profile
    bytes, or None). Returns what to write and the profile to embed: a standard
    profile's canonical copy with ``parsed`` as it is; for a device profile,
    ``reencode`` (which converts every frame to sRGB) runs and its output, parsed
    again, is what gets written with the canonical sRGB profile. A profile littleCMS
    cannot use is dropped and the pixels kept; pixels that do not decode are refused.
    """
    if parsed.profile is None:
        return parsed, None
    if is_standard_profile(parsed.profile):
        return parsed, canonical_profile(parsed.profile)
    try:
        converted = reencode(data, parsed, limits)
    except (OSError, SyntaxError, EOFError) as exc:
        raise Refusal(RefusalCode.MALFORMED, "image data does not decode") from exc
    except ValueError:
        return parsed, None  # a profile littleCMS cannot use: drop it, keep the pixels
    reparsed = parse(converted, limits)
    assert reparsed.profile is not None
    return reparsed, canonical_profile(reparsed.profile)
