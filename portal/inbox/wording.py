"""Plain words for what the inbox shows: kinds of file, removed metadata and refusal
reasons come from :mod:`portal.labels` (removed metadata in the same words as the
tipster's receipt, refusals in editors' words); sizes and language names are given in
the editor's language."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale

from portal import labels


def kind_label(kind: str) -> str:
    return str(labels.kind_label(kind))


def category_label(value: str, kind: str = "") -> str:
    return str(labels.category_label(value, kind))


def in_display_order(values: list[str]) -> list[str]:
    return labels.in_display_order(values)


def alteration_label(value: str) -> str:
    return str(labels.alteration_label(value))


def refusal_label(code: str) -> str:
    return str(labels.editor_refusal_label(code))


def size_label(size: int) -> str:
    return labels.format_size(size)


def language_label(code: str) -> str:
    """A language's name in the editor's language ("Spanish" / "español")."""
    try:
        name = Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]
