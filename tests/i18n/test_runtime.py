"""Translations at run time: the portal refuses to start on a catalogue that is not
compiled and says what to run, the translators' commands work end to end (without an
app), and error pages follow the URL's language."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, abort

from portal.errors import ERROR_TEXTS
from portal.i18n import COMPILE_COMMAND, CatalogueError
from portal.paths import ROOT, TRANSLATIONS
from tests.apps import MakeApp
from tests.i18n.catalogues import load, save, translate

PO = Path("es/LC_MESSAGES/messages.po")


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A copy of the repository's .po files, without any compiled .mo (a fresh clone)."""
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    return copy


@pytest.fixture
def translations(fresh_clone: Path) -> Path:
    """The fresh clone's catalogues after `flask translate compile`."""
    result = translate(fresh_clone, "compile")
    assert result.exit_code == 0, result.output
    return fresh_clone


@pytest.fixture
def translated_app(make_app: MakeApp) -> Callable[[Path], Flask]:
    """``translated_app(folder)``: an app reading the catalogues in ``folder``, on the
    test's data folder, rendering error pages as in production (no exception is
    propagated to the test)."""

    def build(translations: Path) -> Flask:
        app = make_app(translations_dir=str(translations))
        app.config["PROPAGATE_EXCEPTIONS"] = False
        return app

    return build


def spanish(msgid: str) -> str:
    """The Spanish for msgid according to the committed catalogue (the oracle)."""
    text = load(TRANSLATIONS / PO).get(msgid).string
    assert text, f"no Spanish for {msgid!r}"
    return text


def test_fresh_clone_without_mo_does_not_start_and_says_what_to_run(translated_app, fresh_clone):
    mo = (fresh_clone / PO).with_suffix(".mo")
    with pytest.raises(CatalogueError) as refused:
        translated_app(fresh_clone)
    assert str(mo) in str(refused.value) and "missing" in str(refused.value)
    assert COMPILE_COMMAND in str(refused.value)
    assert not mo.exists(), "the portal must not compile catalogues itself"

    # The command it names, run as a real process (a Flask plugin: no app needed).
    env = {**os.environ, "PORTAL_TRANSLATIONS_DIR": str(fresh_clone)}
    command = [sys.executable, "-m", *COMPILE_COMMAND.split()]
    compiled = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    page = translated_app(fresh_clone).test_client().get("/es/nonexistent")
    assert spanish("Page not found") in page.get_data(as_text=True)


def test_stale_mo_stops_the_start_until_compiled(translated_app, translations):
    catalogue = load(translations / PO)
    catalogue.get("Page not found").string = "Aquí no hay página"
    save(catalogue, translations / PO)
    mo = (translations / PO).with_suffix(".mo")
    os.utime(mo, ns=(0, 0))  # older than the edited .po
    with pytest.raises(CatalogueError, match=r"older than messages\.po") as refused:
        translated_app(translations)
    assert COMPILE_COMMAND in str(refused.value)

    assert translate(translations, "compile").exit_code == 0
    page = translated_app(translations).test_client().get("/es/nonexistent")
    assert "Aquí no hay página" in page.get_data(as_text=True)


def test_translator_edit_shows_after_flask_translate_compile(translated_app, translations):
    """The documented workflow: edit the .po, run `flask translate compile`, reload the
    page in the development server (debug mode) without restarting it."""
    app = translated_app(translations)
    app.debug = True
    client = app.test_client()
    assert spanish("Page not found") in client.get("/es/nonexistent").get_data(as_text=True)

    catalogue = load(translations / PO)
    catalogue.get("Page not found").string = "Esta página no existe"
    save(catalogue, translations / PO)
    result = translate(translations, "compile")
    assert result.exit_code == 0, result.output

    assert "Esta página no existe" in client.get("/es/nonexistent").get_data(as_text=True)


def test_flask_translate_init_adds_a_language_to_the_switch(translated_app, translations):
    result = translate(translations, "init", "fr")
    assert result.exit_code == 0, result.output
    french = load(translations / "fr/LC_MESSAGES/messages.po")
    assert french.get("Page not found") is not None
    assert translate(translations, "compile").exit_code == 0

    page = translated_app(translations).test_client().get("/es/").get_data(as_text=True)
    assert 'hreflang="fr"' in page
    assert "Français" in page


def test_flask_translate_init_refuses_an_unknown_code(translated_app, translations):
    result = translate(translations, "init", "xx-nonsense")
    assert result.exit_code != 0
    assert not (translations / "xx-nonsense").exists()


def test_flask_translate_update_restores_a_missing_msgid(translated_app, translations):
    catalogue = load(translations / PO)
    catalogue.delete("Page not found")
    save(catalogue, translations / PO)
    result = translate(translations, "update")
    assert result.exit_code == 0, result.output
    restored = load(translations / PO).get("Page not found")
    assert restored is not None and not restored.string
    assert (translations / "messages.pot").exists()


# --- error pages ----------------------------------------------------------------------


@pytest.fixture
def failing_app(translated_app, translations):
    app = translated_app(translations)

    @app.get("/<lang>/_fail/<int:code>")
    def fail(lang: str, code: int):
        abort(code)

    @app.get("/_fail/<int:code>")
    def fail_without_language(code: int):
        abort(code)

    @app.get("/es/_crash")
    def crash():
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize("code", sorted(ERROR_TEXTS))
def test_error_page_follows_the_language_in_the_url(failing_app, code):
    client = failing_app.test_client()
    title = ERROR_TEXTS[code][0]._args[0]
    # Accept-Language says English: the URL must win.
    es = client.get(f"/es/_fail/{code}", headers={"Accept-Language": "en"})
    assert es.status_code == code
    assert spanish(title) in es.get_data(as_text=True)
    assert '<html lang="es-MX"' in es.get_data(as_text=True)
    en = client.get(f"/en/_fail/{code}", headers={"Accept-Language": "es"})
    assert en.status_code == code
    assert title in en.get_data(as_text=True)


@pytest.mark.parametrize("accept, lang", [("es-MX,es;q=0.9", "es"), ("en-US,en;q=0.8", "en")])
def test_error_page_without_language_in_url_follows_accept_language(failing_app, accept, lang):
    page = failing_app.test_client().get("/_fail/404", headers={"Accept-Language": accept})
    assert page.status_code == 404
    expected = spanish("Page not found") if lang == "es" else "Page not found"
    assert expected in page.get_data(as_text=True)


def test_unknown_page_under_a_language_prefix_is_a_404_in_that_language(failing_app):
    client = failing_app.test_client()
    page = client.get("/es/no/such/page", headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert spanish("Page not found") in page.get_data(as_text=True)


def test_unhandled_exception_is_a_spanish_500_under_es(failing_app):
    page = failing_app.test_client().get("/es/_crash", headers={"Accept-Language": "en"})
    assert page.status_code == 500
    assert spanish("There was an error on the site") in page.get_data(as_text=True)
