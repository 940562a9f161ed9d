"""Locale selection, the start-up check of the compiled catalogues, and the language
facts templates need.

The public side carries the language in the URL (``/es/``, ``/en/``) because Tor
Browser sends no useful ``Accept-Language`` and the public side keeps no cookie for it.
Where the URL has none, the editor's choice (inbox session) or ``Accept-Language``
decides, with q-values honoured. An error page follows the first path segment when it
names a language (``/es/nonexistent`` is a Spanish 404) even though no view ran.

The available languages are the folders under the translations directory plus English,
the source language: a new catalogue appears in the language switch with no change to
code. Compiled ``.mo`` files are not committed and the running portal never writes
them: ``flask translate compile`` does in a checkout, so does installing (``pip install
-e .``, see setup.py), and a wheel ships them. :func:`init_app` refuses to start when a
``.mo`` is missing or older than its ``.po`` and names the command to run, because
Flask-Babel would otherwise fall back to English without a word. In debug mode the
compiled catalogues are read afresh for each request, so a translator sees ``flask
translate compile`` on the next page load without restarting the server.

Numbers, sizes, dates and lists follow a country's conventions, not only a
language's: the Spanish catalogue is ``es``, but its readers are in Mexico, so the
request's Babel locale is ``es_MX`` (``50,000``, ``2.1 GB``, ``50%``) while gettext
finds the ``es`` catalogue by dropping the region. :func:`current_language` gives the
catalogue's code (for URLs and the database), :func:`html_lang` the tag pages carry.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import Flask, current_app, g, request, session
from flask_babel import Babel, Domain, get_locale

from portal.config import Settings
from portal.paths import TRANSLATIONS

SOURCE_LOCALE = "en"
DOMAIN = "messages"
_RTL = {"ar", "he", "fa", "ur", "ps", "yi"}
#: what to run when a catalogue is missing or stale (from the repository's root)
COMPILE_COMMAND = "flask --app app translate compile"
#: the country whose conventions a language's numbers, sizes, dates and lists follow,
#: for a catalogue without a region of its own (see TRANSLATING.md)
FORMAT_REGIONS = {"es": "MX"}


class CatalogueError(RuntimeError):
    """A compiled catalogue is missing or older than its source: the portal does not
    start rather than show a language half in English."""


def translations_dir(settings: Settings) -> Path:
    """The catalogue folder (a setting, so tests and operators can point elsewhere)."""
    return Path(settings.translations_dir) if settings.translations_dir else TRANSLATIONS


def _language_dirs(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.glob("*/LC_MESSAGES")
        if not path.parent.name.startswith(("_", "."))
        and any((path / f"{DOMAIN}{suffix}").is_file() for suffix in (".po", ".mo"))
    )


def catalogue_paths(directory: Path) -> dict[str, Path]:
    """Each language's ``messages.po`` under ``directory``, by language code."""
    return {
        path.parent.name: path / f"{DOMAIN}.po"
        for path in _language_dirs(directory)
        if (path / f"{DOMAIN}.po").is_file()
    }


def discover_locales(directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """Every language with a catalogue (source or compiled: a wheel ships only the
    compiled one), plus the source language, sorted."""
    return tuple(sorted({path.parent.name for path in _language_dirs(directory)} | {SOURCE_LOCALE}))


def catalogue_problems(directory: Path) -> list[str]:
    """Each ``.po`` whose ``.mo`` is missing or older, in words."""
    problems = []
    for po_path in catalogue_paths(directory).values():
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.is_file():
            problems.append(f"{mo_path} is missing")
        elif mo_path.stat().st_mtime_ns < po_path.stat().st_mtime_ns:
            problems.append(f"{mo_path} is older than {po_path.name}")
    return problems


def check_catalogues(directory: Path) -> None:
    """Raise :class:`CatalogueError`, saying what to run, unless every catalogue under
    ``directory`` is compiled and up to date."""
    problems = catalogue_problems(directory)
    if problems:
        raise CatalogueError(
            "translation catalogues need compiling: "
            + "; ".join(problems)
            + f". Run `{COMPILE_COMMAND}` from the repository's root"
            + " (installing with `pip install -e .` compiles them too)."
        )


def available_locales() -> tuple[str, ...]:
    locales: tuple[str, ...] = current_app.extensions["portal_locales"]
    return locales


def negotiate_locale() -> str:
    """The best language for this request when the URL does not name one."""
    locales = available_locales()
    best = request.accept_languages.best_match(locales)
    return best or current_app.config["PORTAL_SETTINGS"].default_locale


def language_in_path(path: str) -> str | None:
    """The first path segment when it names an available language, else None."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in available_locales() else None


def formatting_locale(code: str) -> str:
    """The Babel locale a language is formatted in: ``es`` -> ``es_MX``."""
    region = FORMAT_REGIONS.get(code)
    return f"{code}_{region}" if region else code


def html_lang(code: str) -> str:
    """The tag for ``<html lang>``, ``hreflang`` and ``lang``: ``es`` -> ``es-MX``."""
    return formatting_locale(code).replace("_", "-")


def choose_language() -> str:
    """URL (the view's ``g.lang``, or the path for error pages), session, Accept-Language."""
    lang = g.get("lang")
    if isinstance(lang, str) and lang in available_locales():
        return lang
    from_path = language_in_path(request.path)
    if from_path:
        return from_path
    chosen = session.get("lang") if session else None
    if isinstance(chosen, str) and chosen in available_locales():
        return chosen
    return negotiate_locale()


def select_locale() -> str:
    """Flask-Babel's locale for this request: the chosen language, with its region."""
    return formatting_locale(choose_language())


def current_language() -> str:
    """This request's language as its catalogue is named ("es", not "es_MX")."""
    locale = get_locale()
    if locale is None:
        return SOURCE_LOCALE
    code = str(locale)
    if code in available_locales():
        return code
    return locale.language if locale.language in available_locales() else code


def text_direction(code: str) -> str:
    return "rtl" if code.split("_")[0] in _RTL else "ltr"


def language_name(code: str) -> str:
    """A language's name in that language ("español", "English")."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def init_app(app: Flask) -> None:
    settings = app.config["PORTAL_SETTINGS"]
    directory = translations_dir(settings)
    locales = discover_locales(directory)
    if settings.default_locale not in locales:
        raise RuntimeError(
            f"default locale {settings.default_locale!r} has no catalogue under "
            f"{directory}; available: {', '.join(locales)}"
        )
    check_catalogues(directory)
    app.extensions["portal_locales"] = locales
    app.config["BABEL_DEFAULT_LOCALE"] = SOURCE_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    Babel(app, locale_selector=select_locale)

    @app.before_request
    def reread_catalogues_in_debug() -> None:
        # Development only: a Domain of this request's own starts with an empty cache,
        # so a catalogue compiled while the server runs shows on the next page load.
        if app.debug:
            Domain(domain=DOMAIN).as_default()

    @app.context_processor
    def language_facts() -> dict[str, object]:
        current = current_language()
        return {
            "lang": current,
            "text_dir": text_direction(current),
            "locales": available_locales(),
            "language_name": language_name,
            "html_lang": html_lang,
        }
