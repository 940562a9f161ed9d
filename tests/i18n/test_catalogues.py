"""CI checks on the shipped catalogues: complete, placeholders intact, up to date.

A shipped language is any folder under translations/ with a messages.po (that is also
what puts it in the language switch). English is the source language and has no
catalogue. Each check is also run against a planted bad catalogue, so it can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from portal.i18n import catalogue_paths
from portal.paths import TRANSLATIONS
from tests.i18n.catalogues import load, missing_msgids, msgfmt_check, save, untranslated

SHIPPED = catalogue_paths(TRANSLATIONS)


def test_spanish_ships_and_english_is_the_source():
    assert "es" in SHIPPED
    assert "en" not in SHIPPED, "English is the source language: its msgids are the text"


@pytest.mark.parametrize("lang", sorted(SHIPPED))
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    problems = untranslated(load(SHIPPED[lang]))
    assert problems == [], f"{lang}: {len(problems)} messages need a translator:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("lang", sorted(SHIPPED))
def test_msgfmt_check_passes(lang):
    problems = msgfmt_check(SHIPPED[lang])
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("lang", sorted(SHIPPED))
def test_catalogue_has_every_msgid_in_the_code(lang, fresh_template):
    missing = missing_msgids(fresh_template, load(SHIPPED[lang]))
    assert missing == [], (
        f"{lang} lacks {len(missing)} strings the code uses; run `flask translate update` "
        "and translate them:\n" + "\n".join(missing)
    )


def test_committed_template_is_up_to_date(fresh_template):
    committed = load(TRANSLATIONS / "messages.pot")
    missing = missing_msgids(fresh_template, committed)
    assert missing == [], "run `flask translate update`:\n" + "\n".join(missing)


def test_compiled_catalogues_are_not_committed():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "--", "translations"],
        cwd=TRANSLATIONS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert [name for name in tracked.stdout.split() if name.endswith(".mo")] == []


# --- the checks themselves catch what they claim to ----------------------------------


def _planted(tmp_path: Path) -> Path:
    catalogue = Catalog(locale="es")
    catalogue.add("Fine", "Bien")
    catalogue.add("Empty", "")
    catalogue.add("Unsure", "Dudoso", flags={"fuzzy"})
    catalogue.add(("%(num)d file", "%(num)d files"), ("%(num)d archivo", "", ""), flags=set())
    catalogue.add("Sent %(count)s files", "Enviaste %(cuenta)s archivos", flags={"python-format"})
    path = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    save(catalogue, path)
    return path


def test_untranslated_check_finds_empty_fuzzy_and_partial_plurals(tmp_path):
    problems = untranslated(load(_planted(tmp_path)))
    assert problems == [
        "untranslated: 'Empty'",
        "fuzzy: 'Unsure'",
        "untranslated: '%(num)d file | %(num)d files'",
    ]


def test_msgfmt_check_finds_a_renamed_placeholder(tmp_path):
    problems = msgfmt_check(_planted(tmp_path))
    assert any("cuenta" in line or "count" in line for line in problems), problems


def test_out_of_date_check_finds_a_new_msgid(tmp_path, fresh_template):
    catalogue = Catalog(locale="es")
    for message in list(fresh_template)[2:]:
        catalogue.add(message.id, message.id, context=message.context)
    first = next(m for m in fresh_template if m.id)
    assert missing_msgids(fresh_template, catalogue) == [
        first.id if isinstance(first.id, str) else " | ".join(first.id)
    ]
