"""Locale selection, catalogue compilation and the language facts templates need.

The public side carries the language in the URL (``/es/``, ``/en/``) because Tor
Browser sends no useful ``Accept-Language`` and the public side keeps no cookie for it.
Where the URL has none, the editor's choice (inbox session) or ``Accept-Language``
decides, with q-values honoured. An error page follows the first path segment when it
names a language (``/es/nonexistent`` is a Spanish 404) even though no view ran.

The available languages are the folders under the translations directory plus English,
the source language: a new catalogue appears in the language switch with no change to
code. Compiled ``.mo`` files are not committed: :func:`init_app` compiles any that are
missing or older than their ``.po``, so a fresh clone runs in every language, and in
debug mode a recompiled catalogue is picked up on the next request.

Numbers, sizes, dates and lists follow a country's conventions, not only a
language's: the Spanish catalogue is ``es``, but its readers are in Mexico, so the
request's Babel locale is ``es_MX`` (``50,000``, ``2.1 GB``, ``50%``) while gettext
finds the ``es`` catalogue by dropping the region. :func:`current_language` gives the
catalogue's code (for URLs and the database), :func:`html_lang` the tag pages carry.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request, session
from flask_babel import Babel, get_babel, get_locale

from portal.paths import TRANSLATIONS

SOURCE_LOCALE = "en"
DOMAIN = "messages"
_RTL = {"ar", "he", "fa", "ur", "ps", "yi"}
#: the country whose conventions a language's numbers, sizes, dates and lists follow,
#: for a catalogue without a region of its own (see TRANSLATING.md)
FORMAT_REGIONS = {"es": "MX"}

log = logging.getLogger(__name__)


def translations_dir(app: Flask | None = None) -> Path:
    """The catalogue folder this app uses (a setting, so tests can point elsewhere)."""
    settings = (app or current_app).config["PORTAL_SETTINGS"]
    return Path(settings.translations_dir) if settings.translations_dir else TRANSLATIONS


def catalogue_paths(directory: Path) -> dict[str, Path]:
    """Each language's ``messages.po`` under ``directory``, by language code."""
    found = {}
    for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        code = path.parent.parent.name
        if not code.startswith(("_", ".")):
            found[code] = path
    return found


def discover_locales(directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """Every language with a catalogue, plus the source language, sorted."""
    return tuple(sorted({*catalogue_paths(directory), SOURCE_LOCALE}))


def compile_stale_catalogues(directory: Path) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older; return the ``.mo`` written.

    Fuzzy entries are left out, as ``pybabel compile`` does. Each file is written to a
    temporary name and renamed, so a worker reading it never sees half a catalogue.
    """
    written = []
    for po_path in catalogue_paths(directory).values():
        mo_path = po_path.with_suffix(".mo")
        try:
            if mo_path.stat().st_mtime_ns >= po_path.stat().st_mtime_ns:
                continue
        except FileNotFoundError:
            pass
        with po_path.open("rb") as fh:
            catalogue = read_po(fh, locale=po_path.parent.parent.name, domain=DOMAIN)
        try:
            fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo.part")
        except OSError as exc:
            if not mo_path.exists():
                raise RuntimeError(f"cannot compile {po_path}: {exc}") from exc
            # A read-only install: serve the catalogue compiled when it was built.
            log.warning("%s is older than its .po but cannot be rewritten: %s", mo_path, exc)
            continue
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalogue)
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        log.info("compiled translation catalogue %s", mo_path)
        written.append(mo_path)
    return written


def _mo_state(directory: Path) -> tuple[tuple[str, int], ...]:
    state = []
    for po_path in catalogue_paths(directory).values():
        mo_path = po_path.with_suffix(".mo")
        try:
            state.append((str(mo_path), mo_path.stat().st_mtime_ns))
        except FileNotFoundError:
            state.append((str(mo_path), 0))
    return tuple(state)


def available_locales() -> tuple[str, ...]:
    return current_app.extensions["portal_locales"]


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
    if lang in available_locales():
        return lang
    from_path = language_in_path(request.path)
    if from_path:
        return from_path
    chosen = session.get("lang") if session else None
    if chosen in available_locales():
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
    directory = translations_dir(app)
    locales = discover_locales(directory)
    if settings.default_locale not in locales:
        raise RuntimeError(
            f"default locale {settings.default_locale!r} has no catalogue under "
            f"{directory}; available: {', '.join(locales)}"
        )
    compile_stale_catalogues(directory)
    app.extensions["portal_locales"] = locales
    app.config["BABEL_DEFAULT_LOCALE"] = SOURCE_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    Babel(app, locale_selector=select_locale)
    loaded = {"state": _mo_state(directory)}

    @app.before_request
    def reload_changed_catalogues() -> None:
        # Development only: `flask translate compile` (or an edited .po) shows on the
        # next request without restarting the server.
        if not app.debug:
            return
        compile_stale_catalogues(directory)
        state = _mo_state(directory)
        if state != loaded["state"]:
            loaded["state"] = state
            get_babel().instance.domain_instance.cache.clear()

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
