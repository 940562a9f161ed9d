"""The pages nginx serves by itself (portal/unavailable.py) are committed; they must
be what the templates and catalogues give now, in every language, so a change to
either that was not followed by ``flask translate compile`` fails here."""

from __future__ import annotations

import re

import click
import pytest
from flask import Flask

from portal import create_app
from portal.unavailable import FOLDER, PAGES, render_pages


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_pages(_app_as_a_command_makes_it())


def _app_as_a_command_makes_it() -> Flask:
    """The app as ``flask translate compile`` makes it: a command's, which touches
    no data folder."""
    with click.Context(click.Command("compile"), info_name="compile"):
        return create_app()


def test_the_committed_pages_are_what_the_catalogues_give(rendered) -> None:
    committed = {p.relative_to(FOLDER).as_posix() for p in FOLDER.glob("*/*.html")}
    assert committed == set(rendered), "run `flask --app app translate compile`"
    for relative, html in rendered.items():
        on_disk = (FOLDER / relative).read_text(encoding="utf-8")
        assert on_disk == html, f"{relative} is stale: run `flask --app app translate compile`"


def test_every_status_has_a_page_in_every_language(rendered) -> None:
    languages = {"es", "en"}
    assert set(rendered) == {f"{lang}/{code}.html" for lang in languages for code in PAGES}
    assert {400, 413, 500, 502, 504} <= set(PAGES)


@pytest.mark.parametrize("code", sorted(PAGES))
def test_each_page_is_in_its_language(rendered, code) -> None:
    spanish, english = rendered[f"es/{code}.html"], rendered[f"en/{code}.html"]
    assert '<html lang="es-MX"' in spanish and '<html lang="en"' in english
    spanish_text, english_text = _words(spanish), _words(english)
    assert spanish_text != english_text
    title, message = (str(text) for text in PAGES[code])
    assert title in english_text and message in english_text
    assert title not in spanish_text and message not in spanish_text


def test_the_pages_need_nothing_from_elsewhere(rendered) -> None:
    for relative, html in rendered.items():
        assert "<script" not in html and "<form" not in html, relative
        addresses = re.findall(r'(?:href|src)="([^"]*)"', html)
        assert addresses, relative
        for address in addresses:
            # the stylesheet from the portal itself, and the page's own skip link
            assert address in ("/static/css/portal.css", "#main"), (relative, address)


def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
