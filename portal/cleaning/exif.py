"""EXIF and XMP, as every image module meets them: what a block carries, and the
one thing of it a cleaned image may keep (its Orientation).

Nothing here removes anything: the image modules drop EXIF and XMP whole and write,
at most, the minimal block :func:`orientation_exif` makes. These functions decide
what the receipt says was removed, and they must never raise on hostile input: a
block that cannot be read is itself reported as EXIF.
"""

from __future__ import annotations

import re

from PIL import ExifTags, Image

from portal.cleaning import icc
from portal.cleaning.base import Category

#: The prefix of an EXIF block in a JPEG APP1 segment (and in what Pillow writes).
EXIF_MAGIC = b"Exif\x00\x00"

_ORIENTATION = 0x0112
_IFD0_CATEGORIES = {
    0x010F: Category.MAKE_MODEL,  # Make
    0x0110: Category.MAKE_MODEL,  # Model
    0x0131: Category.SOFTWARE,  # Software
    0x000B: Category.SOFTWARE,  # ProcessingSoftware
    0x013C: Category.SOFTWARE,  # HostComputer
    0x0132: Category.DATES,  # DateTime
    0x013B: Category.AUTHOR,  # Artist
    0x8298: Category.AUTHOR,  # Copyright
    0x9C9D: Category.AUTHOR,  # XPAuthor
    0x010E: Category.COMMENT,  # ImageDescription
    0x010D: Category.COMMENT,  # DocumentName
    0x011D: Category.COMMENT,  # PageName
    0x9C9B: Category.COMMENT,  # XPTitle
    0x9C9C: Category.COMMENT,  # XPComment
    0x9C9E: Category.COMMENT,  # XPKeywords
    0x9C9F: Category.COMMENT,  # XPSubject
    0xC4A5: Category.MAKER_NOTES,  # PrintIM
    0xC612: Category.MAKER_NOTES,  # DNGVersion
    0xC614: Category.MAKE_MODEL,  # UniqueCameraModel
    0xC62F: Category.SERIAL,  # CameraSerialNumber
    0x83BB: Category.IPTC,  # IPTC-NAA
    0x8649: Category.IPTC,  # Photoshop resources
}
_EXIF_IFD_CATEGORIES = {
    0x9003: Category.DATES,  # DateTimeOriginal
    0x9004: Category.DATES,  # DateTimeDigitized
    0x9010: Category.DATES,  # OffsetTime
    0x9011: Category.DATES,
    0x9012: Category.DATES,
    0x9290: Category.DATES,  # SubSecTime
    0x9291: Category.DATES,
    0x9292: Category.DATES,
    0x927C: Category.MAKER_NOTES,  # MakerNote
    0x9286: Category.COMMENT,  # UserComment
    0xA420: Category.SERIAL,  # ImageUniqueID
    0xA430: Category.AUTHOR,  # CameraOwnerName
    0xA431: Category.SERIAL,  # BodySerialNumber
    0xA432: Category.MAKE_MODEL,  # LensSpecification
    0xA433: Category.MAKE_MODEL,  # LensMake
    0xA434: Category.MAKE_MODEL,  # LensModel
    0xA435: Category.SERIAL,  # LensSerialNumber
}


# TIFF structure and display tags: no person, device or time in them.
_NEUTRAL_IFD0 = {
    0x00FE, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0112, 0x0115, 0x0116,
    0x0117, 0x011A, 0x011B, 0x011C, 0x0128, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145,
    0x0152, 0x0153, 0x0211, 0x0212, 0x0213, 0x0214,
}  # fmt: skip


def exif_categories(exif: bytes | Image.Exif) -> tuple[set[Category], int]:
    """Classify EXIF: a payload (TIFF structure, with or without the ``Exif\\0\\0``
    prefix) or a Pillow ``Exif`` (as ``getexif()`` returns for TIFF files). Returns
    the categories found and the Orientation (1 if absent or unreadable)."""
    try:
        if isinstance(exif, bytes):
            payload, exif = exif, Image.Exif()
            exif.load(payload)
        ifd0 = dict(exif)
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        # Hostile or broken EXIF: unreadable is itself a finding.
        return {Category.EXIF}, 1
    found: set[Category] = set()
    orientation = ifd0.get(_ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    if gps or ExifTags.IFD.GPSInfo in ifd0:
        found.add(Category.GPS)
    if ifd1:
        found.add(Category.THUMBNAIL)
    for tag, value in ifd0.items():
        if tag == 0x8773:  # InterColorProfile
            if not (isinstance(value, bytes) and icc.is_standard_profile(value)):
                found.add(Category.ICC_PROFILE)
        elif tag == 0x02BC:  # XMLPacket
            found |= xmp_categories(value if isinstance(value, bytes) else b"")
        elif tag in _IFD0_CATEGORIES:
            found.add(_IFD0_CATEGORIES[tag])
    for tag in sub:
        if tag in _EXIF_IFD_CATEGORIES:
            found.add(_EXIF_IFD_CATEGORIES[tag])
    pointers = {ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop}
    if sub or set(ifd0) - _NEUTRAL_IFD0 - pointers - set(_IFD0_CATEGORIES):
        found.add(Category.EXIF)
    return found, orientation


_XMP_PATTERNS = {
    Category.GPS: rb"GPS|[Ll]ocation|[Ll]atitude|[Ll]ongitude|photoshop:City|Iptc4xmpCore:Loc",
    Category.MAKE_MODEL: rb"tiff:Make|tiff:Model|aux:Lens|exifEX:Lens|LensModel",
    Category.SERIAL: rb"SerialNumber|DocumentID|InstanceID|ImageUniqueID",
    Category.DATES: rb"Date|DateTime",
    Category.AUTHOR: rb"dc:creator|dc:rights|photoshop:Credit|Iptc4xmpCore:Creator|OwnerName",
    Category.SOFTWARE: rb"CreatorTool|softwareAgent|crs:|ProcessVersion",
    Category.COMMENT: rb"dc:description|dc:title|dc:subject|UserComment|photoshop:Headline",
}


def xmp_categories(packet: bytes | str) -> set[Category]:
    """Classify an XMP packet (as bytes, or as a decoder's text). Any packet counts as
    XMP; recognisable property names add the matching categories. (The packet is not
    trusted or parsed as XML here: the cleaner removes it whole.)"""
    data = packet if isinstance(packet, bytes) else str(packet).encode()
    found = {Category.XMP}
    for category, pattern in _XMP_PATTERNS.items():
        if re.search(pattern, data):
            found.add(category)
    return found


def orientation_exif(orientation: int) -> bytes:
    """An EXIF block (with the ``Exif\\0\\0`` prefix) holding only ``orientation``."""
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    return exif.tobytes()


def embedded_exif(payload: bytes) -> tuple[set[Category], bytes | None]:
    """What an EXIF chunk of a container (PNG ``eXIf``, WebP ``EXIF``: a TIFF
    structure, with or without the ``Exif\\0\\0`` prefix) carries, and the minimal
    block (bare TIFF structure) to keep in its place: None when its Orientation is
    absent or 1 ("normal"). A blank chunk reports nothing; an unreadable one EXIF."""
    found, orientation = exif_categories(payload)
    if not payload.strip(b"\x00"):
        found = set()
    if orientation == 1:
        return found, None
    return found, orientation_exif(orientation)[len(EXIF_MAGIC) :]
