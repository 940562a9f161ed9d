"""Locale selection and the language facts templates need.

The public side carries the language in the URL (``/es/``, ``/en/``) because Tor
Browser sends no useful ``Accept-Language`` and the public side keeps no cookie for it.
Where the URL has none, the editor's choice (inbox session) or ``Accept-Language``
decides, with q-values honoured. The available languages are the folders under
``translations/`` plus English, the source language: a new catalogue appears in the
language switch with no change to code.
"""

from __future__ import annotations

from babel import Locale
from flask import Flask, current_app, g, request, session
from flask_babel import Babel

from portal.paths import TRANSLATIONS

SOURCE_LOCALE = "en"
_RTL = {"ar", "he", "fa", "ur", "ps", "yi"}


def discover_locales() -> tuple[str, ...]:
    """Every language with a catalogue, plus the source language, sorted."""
    found = {
        path.parent.parent.name
        for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")
        if not path.parent.parent.name.startswith(("_", "."))
    }
    found.add(SOURCE_LOCALE)
    return tuple(sorted(found))


def available_locales() -> tuple[str, ...]:
    return current_app.extensions["portal_locales"]


def negotiate_locale() -> str:
    """The best language for this request when the URL does not name one."""
    locales = available_locales()
    best = request.accept_languages.best_match(locales)
    return best or current_app.config["PORTAL_SETTINGS"].default_locale


def select_locale() -> str:
    lang = g.get("lang")
    if lang in available_locales():
        return lang
    chosen = session.get("lang") if session else None
    if chosen in available_locales():
        return chosen
    return negotiate_locale()


def text_direction(code: str) -> str:
    return "rtl" if code.split("_")[0] in _RTL else "ltr"


def language_name(code: str) -> str:
    """A language's name in that language ("español", "English")."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def init_app(app: Flask) -> None:
    settings = app.config["PORTAL_SETTINGS"]
    locales = discover_locales()
    if settings.default_locale not in locales:
        raise RuntimeError(
            f"default locale {settings.default_locale!r} has no catalogue under "
            f"{TRANSLATIONS}; available: {', '.join(locales)}"
        )
    app.extensions["portal_locales"] = locales
    app.config["BABEL_DEFAULT_LOCALE"] = SOURCE_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def language_facts() -> dict[str, object]:
        from flask_babel import get_locale

        current = str(get_locale())
        return {
            "lang": current,
            "text_dir": text_direction(current),
            "locales": available_locales(),
            "language_name": language_name,
        }
