"""Plain words for what the cleaner reports, and file sizes in the reader's language.

The cleaner speaks in codes (:class:`~portal.cleaning.Category`,
:class:`~portal.cleaning.RefusalCode`, a file's ``kind``). Tipsters (on the receipt)
and editors (in the inbox) read the labels here instead. Every label is a lazy
string, translated when it is shown.
"""

from __future__ import annotations

from babel.units import format_unit
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from portal.cleaning import Alteration, Category, Kind, RefusalCode

CATEGORY_LABELS: dict[Category, LazyString] = {
    Category.GPS: _l("GPS location"),
    Category.MAKE_MODEL: _l("camera or phone make and model"),
    Category.SERIAL: _l("serial numbers and device identifiers"),
    Category.DATES: _l("dates, such as the date taken"),
    Category.AUTHOR: _l("author or owner name"),
    Category.SOFTWARE: _l("editing software"),
    Category.COMMENT: _l("comments, titles and descriptions"),
    Category.THUMBNAIL: _l("embedded thumbnail or preview"),
    Category.EXIF: _l("other camera settings"),
    Category.XMP: _l("editing history and document identifiers"),
    Category.IPTC: _l("press captions and credits"),
    Category.MAKER_NOTES: _l("the manufacturer's private data"),
    Category.ICC_PROFILE: _l("a colour profile that could identify a device"),
    Category.REVISIONS: _l("earlier versions and tracked changes"),
    Category.EMBEDDED: _l("files hidden inside the file"),
    Category.TAGS: _l("titles, encoder and other recording tags"),
    Category.HIDDEN_DATA: _l("hidden data after the end of the file"),
    Category.INVISIBLE_CHARACTERS: _l(
        "invisible characters, which can mark who a copied text came from"
    ),
}

ALTERATION_LABELS: dict[Alteration, LazyString] = {
    Alteration.AUDIO_REENCODED: _l(
        "The sound could not be copied as it was, so it was converted to a common "
        "format; it may sound slightly different."
    ),
    Alteration.VIDEO_REENCODED: _l(
        "The picture could not be copied as it was, so it was converted to a common "
        "format; it may look slightly different."
    ),
}

REFUSAL_LABELS: dict[RefusalCode, LazyString] = {
    RefusalCode.UNKNOWN_TYPE: _l(
        "This kind of file is not accepted, or it could not be recognised."
    ),
    RefusalCode.ARCHIVE: _l(
        "Compressed archives (such as ZIP or RAR) are not accepted. "
        "Please send the files inside them one by one."
    ),
    RefusalCode.ACTIVE_CONTENT: _l(
        "Web pages, SVG drawings and scripts are not accepted, because they can hide code."
    ),
    RefusalCode.EXECUTABLE: _l("Programs and scripts are not accepted."),
    RefusalCode.MALFORMED: _l(
        "The file seems damaged or incomplete, or it is not what it appears to be."
    ),
    RefusalCode.TOO_LARGE: _l("The file is too large or too complex to check safely."),
    RefusalCode.TOO_COMPLEX: _l(
        "The file is too complex to clean safely. If you can, send it in a simpler form "
        "(for example a screenshot or a shorter video)."
    ),
    RefusalCode.ENCRYPTED: _l("The file is protected by a password, so it cannot be checked."),
    RefusalCode.EMPTY: _l("The file is empty."),
    RefusalCode.CLEANING_FAILED: _l(
        "The identifying information in this file could not be removed safely."
    ),
}

KIND_LABELS: dict[Kind, LazyString] = {
    Kind.IMAGE: _l("photo"),
    Kind.VIDEO: _l("video"),
    Kind.AUDIO: _l("audio"),
    Kind.DOCUMENT: _l("document"),
    Kind.TEXT: _l("text"),
}

_UNITS = (
    (1000**3, "digital-gigabyte"),
    (1000**2, "digital-megabyte"),
    (1000, "digital-kilobyte"),
    (1, "digital-byte"),
)


def category_label(value: str) -> LazyString | str:
    """Plain words for a :class:`Category` value (as stored in the database)."""
    try:
        return CATEGORY_LABELS[Category(value)]
    except ValueError:
        return value


def alteration_label(value: str) -> LazyString | str:
    """Plain words for what was changed in a file, from an :class:`Alteration` value."""
    try:
        return ALTERATION_LABELS[Alteration(value)]
    except ValueError:
        return value


def refusal_label(value: str) -> LazyString | str:
    """Plain words for why a file was refused, from a :class:`RefusalCode` value."""
    try:
        return REFUSAL_LABELS[RefusalCode(value)]
    except ValueError:
        return REFUSAL_LABELS[RefusalCode.UNKNOWN_TYPE]


def kind_label(kind: str) -> LazyString | str:
    """Plain words for a :class:`Kind` value ("image" is shown as "photo")."""
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def format_size(size: int, *, round_down: bool = False) -> str:
    """A byte count in the current language, in decimal units ("2.3 MB", "2,3 MB").

    ``round_down`` is for limits: a limit shown rounded up would promise more than
    the portal accepts.
    """
    factor, unit = next((f, u) for f, u in _UNITS if size >= f or f == 1)
    value = size / factor
    if round_down:
        value = int(value * 10) / 10
    # CLDR's short English byte unit has no plural ("118 byte"); the long one does.
    length = "long" if unit == "digital-byte" else "short"
    return format_unit(value, unit, length=length, format="#,##0.#", locale=get_locale())
