"""Checks on gettext catalogues, shared by the i18n tests: each returns the problems it
finds, so a test asserts an empty list and a failure names every offending message."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner, Result

from portal.cli.translate import extract, translate_group


def load(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def save(catalogue: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalogue)


def translate(translations: Path, *args: str) -> Result:
    """`flask translate ARGS` as a translator runs it: no app, the catalogue folder
    from the environment."""
    env = {"PORTAL_TRANSLATIONS_DIR": str(translations)}
    return CliRunner().invoke(translate_group, list(args), env=env)


def key(message: Message) -> str:
    """A readable identity: context, then the singular (and plural) msgid."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    text = " | ".join(ids)
    return f"{message.context}: {text}" if message.context else text


def untranslated(catalogue: Catalog) -> list[str]:
    """Messages with an empty translation (any plural form) or marked fuzzy."""
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {key(message)!r}")
        elif len(forms) < (catalogue.num_plurals if message.pluralizable else 1) or not all(forms):
            problems.append(f"untranslated: {key(message)!r}")
    return problems


def msgfmt_check(po_path: Path) -> list[str]:
    """GNU msgfmt's verdict (format placeholders, header, plural forms), as error lines."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        return ["msgfmt is not installed (GNU gettext; .ci/run installs it)"]
    result = subprocess.run(
        [msgfmt, "--check", "--output-file", "/dev/null", str(po_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return []
    return [line for line in result.stderr.splitlines() if line.strip()] or [
        f"msgfmt exited {result.returncode}"
    ]


def missing_msgids(template: Catalog, catalogue: Catalog) -> list[str]:
    """msgids the freshly extracted template has and the catalogue lacks (or has obsolete)."""
    have = {(m.context, m.id) for m in catalogue if m.id}
    return [key(m) for m in template if m.id and (m.context, m.id) not in have]


def extract_template(directory: Path) -> Catalog:
    """Extract the code's strings exactly as `flask translate update` does."""
    path = directory / "messages.pot"
    extract(path)
    return load(path)


# --- pseudo-locale -------------------------------------------------------------------

_LOOKALIKE = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "åƀçðéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÅƁÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)
#: what must survive translation untouched: printf placeholders, {fields}, tags, entities
_PROTECTED = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGcoa%]|\{[^{}]*\}|<[^>]*>|&#?\w+;"
)
ASCII_LETTER = re.compile(r"[A-Za-z]")


def pseudo(text: str) -> str:
    """``"Send %(n)s files"`` -> ``"[Šéñð %(n)s ƒîļéš]"``: every ASCII letter replaced."""
    out, last = [], 0
    for match in _PROTECTED.finditer(text):
        out.append(text[last : match.start()].translate(_LOOKALIKE))
        out.append(match.group())
        last = match.end()
    out.append(text[last:].translate(_LOOKALIKE))
    return "[" + "".join(out) + "]"


def pseudo_catalogue(template: Catalog, locale: str) -> Catalog:
    """A complete catalogue for ``locale`` whose every msgstr is ``pseudo(msgid)``."""
    # Babel marks a new catalogue's header fuzzy; pybabel compile would skip it.
    catalogue = Catalog(locale=locale, domain="messages", fuzzy=False)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id
            string = tuple(
                pseudo(singular if index == 0 else plural) for index in range(catalogue.num_plurals)
            )
        else:
            string = pseudo(message.id)
        catalogue.add(message.id, string, context=message.context, flags=message.flags - {"fuzzy"})
    return catalogue
