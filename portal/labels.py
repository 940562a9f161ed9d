"""Plain words for what the cleaner reports, file sizes and language names in the
reader's language.

The cleaner speaks in codes (:class:`~portal.cleaning.Category`,
:class:`~portal.cleaning.RefusalCode`, a file's ``kind``). Tipsters (on the receipt)
and editors (in the inbox) read the labels here instead: the same words for what was
removed, different words for why a file was refused (a tipster is told what to do, an
editor what the file was). Every label is a lazy string, translated when it is shown.
:func:`init_app` makes the functions templates use template globals, the one way both
sides' templates reach them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.units import format_unit
from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from portal.cleaning import Alteration, Category, Cleaned, Kind, RefusalCode

CATEGORY_LABELS: dict[Category, LazyString] = {
    Category.GPS: _l("GPS location"),
    Category.MAKE_MODEL: _l("camera or phone make and model"),
    Category.SERIAL: _l("serial numbers and device identifiers"),
    Category.DATES: _l("dates, such as when the file was created"),
    Category.AUTHOR: _l("author or owner name"),
    Category.SOFTWARE: _l("editing software"),
    Category.COMMENT: _l("comments, titles and descriptions"),
    Category.THUMBNAIL: _l("embedded thumbnail or preview"),
    Category.EXIF: _l("other camera settings"),
    Category.XMP: _l("editing history and document identifiers"),
    Category.IPTC: _l("press captions and credits"),
    Category.MAKER_NOTES: _l("the manufacturer's private data"),
    Category.ICC_PROFILE: _l("a color profile that could identify a device"),
    Category.REVISIONS: _l("earlier versions and tracked changes"),
    Category.EMBEDDED: _l("files hidden inside the file"),
    Category.TAGS: _l("titles, encoder and other recording tags"),
    Category.HIDDEN_DATA: _l("hidden data that the file does not show"),
    Category.FILE_PATHS: _l("names of files and folders on the computer that made the file"),
    Category.SCRIPTS: _l("scripts and actions that run when the file is opened"),
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

#: what "dates" means for each kind of file (a PDF has no "date taken")
DATE_LABELS: dict[str, LazyString] = {
    Kind.IMAGE: _l("dates, such as when the photo was taken"),
    Kind.VIDEO: _l("dates, such as when the video was recorded"),
    Kind.AUDIO: _l("dates, such as when the recording was made"),
    Kind.DOCUMENT: _l("dates, such as when the document was created or last changed"),
}

#: why a file was refused, told to the tipster on the receipt: what to do instead
REFUSAL_LABELS: dict[RefusalCode, LazyString] = {
    RefusalCode.UNKNOWN_TYPE: _l(
        "This kind of file is not accepted, or it could not be recognized."
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

#: why a file was refused, told to editors in the inbox: what the file was
EDITOR_REFUSAL_LABELS: dict[RefusalCode, LazyString] = {
    RefusalCode.UNKNOWN_TYPE: _l("Unknown or unsupported format."),
    RefusalCode.ARCHIVE: _l("Compressed archive (ZIP, RAR, 7z or similar)."),
    RefusalCode.ACTIVE_CONTENT: _l("Web page, SVG drawing or script: it could carry code."),
    RefusalCode.EXECUTABLE: _l("Program or script."),
    RefusalCode.MALFORMED: _l("Damaged, truncated or disguised as another format."),
    RefusalCode.TOO_LARGE: _l(
        "Over the cleaner's limits (size, pixels, pages or expansion): could not be checked safely."
    ),
    RefusalCode.TOO_COMPLEX: _l(
        "Over the cleaner's work budget (frames, elements or objects): could not be cleaned safely."
    ),
    RefusalCode.ENCRYPTED: _l("Protected by a password: could not be checked."),
    RefusalCode.EMPTY: _l("Empty file."),
    RefusalCode.CLEANING_FAILED: _l("Its metadata could not be removed safely."),
}

KIND_LABELS: dict[Kind, LazyString] = {
    Kind.IMAGE: _l("photo"),
    Kind.VIDEO: _l("video"),
    Kind.AUDIO: _l("audio"),
    Kind.DOCUMENT: _l("document"),
    Kind.TEXT: _l("text"),
}

#: (power of the base, CLDR unit) from the largest down
_UNITS = (
    (3, "digital-gigabyte"),
    (2, "digital-megabyte"),
    (1, "digital-kilobyte"),
    (0, "digital-byte"),
)
NBSP = "\u00a0"


def category_label(value: str, kind: str = "") -> LazyString | str:
    """Plain words for a :class:`Category` value (as stored in the database); dates are
    named for the file's ``kind`` ("when the photo was taken") when it is given."""
    try:
        category = Category(value)
    except ValueError:
        return value
    if category is Category.DATES and kind in DATE_LABELS:
        return DATE_LABELS[kind]
    return CATEGORY_LABELS[category]


def in_display_order(values: Iterable[str]) -> list[str]:
    """Category values in the order people read them: :class:`Category`'s own order,
    which puts the location first, then the device, then dates and names."""
    order = {category.value: index for index, category in enumerate(Category)}
    return sorted(values, key=lambda value: (order.get(str(value), len(order)), str(value)))


def alteration_label(value: str) -> LazyString | str:
    """Plain words for what was changed in a file, from an :class:`Alteration` value."""
    try:
        return ALTERATION_LABELS[Alteration(value)]
    except ValueError:
        return value


def refusal_label(value: str) -> LazyString | str:
    """Plain words for the tipster on why a file was refused, from a :class:`RefusalCode`
    value."""
    try:
        return REFUSAL_LABELS[RefusalCode(value)]
    except ValueError:
        return REFUSAL_LABELS[RefusalCode.UNKNOWN_TYPE]


def editor_refusal_label(value: str) -> LazyString | str:
    """Why a file was refused, in editors' words (what it was, not what to do)."""
    try:
        return EDITOR_REFUSAL_LABELS[RefusalCode(value)]
    except ValueError:
        return EDITOR_REFUSAL_LABELS[RefusalCode.UNKNOWN_TYPE]


def kind_label(kind: str) -> LazyString | str:
    """Plain words for a :class:`Kind` value ("image" is shown as "photo")."""
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def _unit_for(size: int, base: int) -> tuple[int, str]:
    return next((power, unit) for power, unit in _UNITS if size >= base**power or power == 0)


def _size_text(value: float, unit: str) -> str:
    # CLDR's short English byte unit has no plural ("118 byte"); the long one does.
    length: Literal["short", "long"] = "long" if unit == "digital-byte" else "short"
    text = format_unit(value, unit, length=length, format="#,##0.#", locale=get_locale())
    # A number never ends a line with its unit on the next one.
    return text.replace(" ", NBSP)


#: formats a cleaner may convert a picture to, by the cleaned copy's MIME type
_CONVERTED_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def filed_format(cleaned: Cleaned) -> str:
    """The format of the copy that is filed: a HEIC or TIFF photo is filed as a JPEG
    or PNG (``Cleaned.format`` names the format that arrived)."""
    return _CONVERTED_FORMATS.get(cleaned.mime, cleaned.format)


def format_duration(seconds: int) -> str:
    """A time limit in whole hours, or whole minutes under an hour ("6 hours",
    "30 minutos"), rounded down: 90 minutes is "1 hour", never "2 hours"."""
    if seconds >= 3600:
        value, unit = seconds // 3600, "duration-hour"
    else:
        value, unit = max(seconds // 60, 1), "duration-minute"
    return format_unit(value, unit, length="long", locale=get_locale()).replace(" ", NBSP)


def format_size(size: int) -> str:
    """A byte count in the current language, in decimal units: "2.3 MB" in English
    and Mexican Spanish, "2,3 MB" where a comma is the decimal mark."""
    power, unit = _unit_for(size, 1000)
    return _size_text(size / 1000**power, unit)


def format_limit(size: int) -> str:
    """A limit in bytes, as a round number where it is one, and never rounded up.

    A limit set in binary units reads as its round number: 2 GiB is "2 GB", not
    "2.1 GB" (it understates the limit by 7%, never overstates it). Any other limit
    is shown in decimal units, rounded down: a limit shown rounded up would promise
    more than the portal accepts.
    """
    for base in (1000, 1024):
        power, unit = _unit_for(size, base)
        if (size * 10) % base**power == 0:  # exact with at most one decimal
            return _size_text(size / base**power, unit)
    power, unit = _unit_for(size, 1000)
    return _size_text(size * 10 // 1000**power / 10, unit)


def language_label(code: str) -> str:
    """A language's name in the reader's language ("Spanish" / "español")."""
    try:
        name = Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def init_app(app: Flask) -> None:
    for function in (
        category_label,
        alteration_label,
        in_display_order,
        refusal_label,
        editor_refusal_label,
        kind_label,
        filed_format,
        format_size,
        language_label,
    ):
        app.add_template_global(function)
