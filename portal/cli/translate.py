"""``flask translate``: the translators' workflow, wrapping pybabel.

``update`` extracts every marked string into ``messages.pot`` and merges it into each
catalogue, ``compile`` builds the ``.mo`` files (and, in a checkout, the pages nginx
shows when the portal cannot answer: :mod:`portal.unavailable`), ``init LANG`` adds
a language. Each runs pybabel (Babel's own command line, with this interpreter) from
the repository root, so locations in the catalogues read ``portal/errors.py:12`` on
every machine.

The group is a Flask plugin command (``flask.commands`` in pyproject.toml), not one of
the app's: it works on files and needs no app, and it must run when the app refuses
to start because a catalogue is not compiled. The catalogue folder is read from
``PORTAL_TRANSLATIONS_DIR`` as the app reads it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from babel import Locale, UnknownLocaleError

from portal.config import Settings
from portal.i18n import DOMAIN, translations_dir
from portal.paths import ROOT, TRANSLATIONS

#: where marked strings live; babel.cfg says which extractor reads which files
SOURCE_DIRS = ("portal", "templates")
#: Flask-Babel's lazy helpers, on top of pybabel's defaults (_, gettext, ngettext, ...)
KEYWORDS = ("_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2", "_ln:1,2")


def catalogue_dir() -> Path:
    """The catalogue folder the portal would use with this environment."""
    return translations_dir(Settings.from_env(default_data_dir=ROOT / "instance"))


def require_checkout() -> None:
    """Extracting strings reads the source; an installed wheel has compiled catalogues
    and templates only."""
    if not (ROOT / "babel.cfg").is_file():
        raise click.ClickException(
            "this command works in a checkout of the portal's repository; "
            f"{ROOT} is an installed copy"
        )


def pybabel(*args: str) -> None:
    """Run one pybabel command; a failure stops the flask command with its message."""
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"pybabel {args[0]} failed (exit {result.returncode})")


def extract(template: Path) -> None:
    """Write every marked string in the code and templates to ``template``."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    pybabel(
        "extract",
        "--mapping-file",
        str(ROOT / "babel.cfg"),
        *keywords,
        "--add-comments",
        "TRANSLATORS:",
        # File names without line numbers: editing code does not churn every catalogue
        # (and conflict with translators' work) when no string changed.
        "--add-location",
        "file",
        "--project",
        "portal",
        "--copyright-holder",
        "the portal's authors",
        "--output-file",
        str(template),
        *SOURCE_DIRS,
    )


@click.group("translate")
def translate_group() -> None:
    """Update, compile and add translation catalogues."""


@translate_group.command("update")
def update_command() -> None:
    """Extract strings and merge them into every catalogue."""
    require_checkout()
    directory = catalogue_dir()
    template = directory / f"{DOMAIN}.pot"
    extract(template)
    # Not --previous: Babel 2.19 writes a long previous msgid as a broken "#|" comment
    # that msgfmt rejects. A changed string still keeps its old translation as fuzzy.
    pybabel(
        "update",
        "--input-file",
        str(template),
        "--output-dir",
        str(directory),
        "--domain",
        DOMAIN,
        "--ignore-pot-creation-date",
    )


@translate_group.command("compile")
def compile_command() -> None:
    """Compile every catalogue to the .mo files the portal reads, and write again
    the pages nginx shows when the portal cannot answer."""
    pybabel(
        "compile",
        "--directory",
        str(catalogue_dir()),
        "--domain",
        DOMAIN,
        "--statistics",
    )
    # The pages are committed with the checkout's own catalogues; catalogues kept
    # elsewhere (PORTAL_TRANSLATIONS_DIR) must not overwrite them.
    if (ROOT / "babel.cfg").is_file() and catalogue_dir().resolve() == TRANSLATIONS.resolve():
        write_unavailable_pages()


def write_unavailable_pages() -> None:
    """Render :mod:`portal.unavailable`'s pages from the catalogues just compiled."""
    from portal import create_app
    from portal.unavailable import FOLDER, write_pages

    written = write_pages(create_app())
    click.echo(f"wrote {len(written)} pages for nginx to {FOLDER}")


@translate_group.command("init")
@click.argument("lang")
def init_command(lang: str) -> None:
    """Add a catalogue for LANG (a code such as "fr" or "pt_BR")."""
    try:
        Locale.parse(lang)
    except (ValueError, UnknownLocaleError) as exc:
        raise click.BadParameter(f"{lang!r} is not a language code Babel knows") from exc
    require_checkout()
    directory = catalogue_dir()
    if (directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po").exists():
        raise click.ClickException(f"{lang} already has a catalogue; run `flask translate update`")
    template = directory / f"{DOMAIN}.pot"
    extract(template)
    pybabel(
        "init",
        "--input-file",
        str(template),
        "--output-dir",
        str(directory),
        "--domain",
        DOMAIN,
        "--locale",
        lang,
    )
