"""Numbers on every page are written as Mexico writes them.

Spanish pages are formatted with Babel's ``es_MX`` (portal.i18n.FORMAT_REGIONS): a
comma groups thousands and a point marks decimals ("50,000", "2.1 GB", "161.7 kB"),
a percent sign follows the number ("50%"), and a no-break space keeps a number with
its unit. Every page the pseudo-locale test renders is rendered here with the real
Spanish catalogue, with data that makes numbers appear (a note of thousands of
characters, files of some kilobytes), and its visible text is searched for Spain's
conventions.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.apps import DatabaseUrls, running_app
from tests.i18n.test_pseudo_locale import (
    PeopleText,
    Rendered,
    add_failing_route,
    render_every_page,
)

#: a note long enough for its length to need a thousands separator
LONG_NOTE = "Camioneta blanca frente a la bodega, placas XYZ-123." * 40

#: what Spain writes and Mexico does not, each with an example it must catch
SPAIN = {
    "decimal comma in a size": (re.compile(r"\d+,\d+\s?(kB|MB|GB|TB|bytes?)\b"), "2,1 GB"),
    "point grouping thousands": (re.compile(r"(?<![\d.])\d{1,3}(\.\d{3})+(?!\d|\.\d)"), "50.000"),
    "space before a percent sign": (re.compile(r"\d[\s\u00a0\u202f]%"), "48 %"),
    "unit on its own after a breaking space": (re.compile(r"\d (kB|MB|GB|bytes?)\b"), "2 GB"),
}


@pytest.fixture(scope="module")
def spanish(
    tmp_path_factory: pytest.TempPathFactory, database_urls: DatabaseUrls
) -> Iterator[Flask]:
    root = tmp_path_factory.mktemp("es-mx")
    with running_app(
        root / "data",
        database_url=database_urls.url(root / "data"),
        default_locale="es",
        max_submission_size=400_000,
    ) as app:
        add_failing_route(app, "es")
        yield app


@pytest.fixture(scope="module")
def pages(spanish: Flask) -> Rendered:
    rendered = render_every_page(spanish, "es", note=LONG_NOTE)
    # A receipt with a file of some kilobytes, and the too-large page's limits.
    client = spanish.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/es/").text)
    assert token
    text = ("Línea de un testimonio largo.\n" * 200).encode()
    rendered.add(
        "public receipt with a text file",
        client.post(
            "/es/",
            data={"csrf_token": token.group(1), "files": [(io.BytesIO(text), "t.txt")]},
            content_type="multipart/form-data",
        ),
    )
    return rendered


def visible_text(html: str) -> list[str]:
    """The page's text and attributes for people, without what a tipster typed into
    a field (shown back as it was typed, not formatted by the portal)."""
    parser = PeopleText()
    parser.feed(html)
    parser.close()
    return [text for where, text in parser.found if where != "<textarea> text"]


def spain_formats(text: str) -> list[str]:
    return [
        f"{name}: {match.group(0)!r}"
        for name, (pattern, _) in SPAIN.items()
        for match in pattern.finditer(text)
    ]


def test_the_checks_catch_spains_formats():
    for name, (pattern, example) in SPAIN.items():
        assert pattern.search(f"Cada archivo, hasta {example}."), name
    assert spain_formats("50,000 · 2.1\u00a0GB · 161.7\u00a0kB · 48% · 6:00:07\u202fp.m.") == []


def test_every_spanish_page_writes_numbers_as_mexico_does(pages: Rendered):
    assert len(pages.pages) > 20
    found = [
        f"{name}: {problem}"
        for name, html in pages.pages.items()
        for text in visible_text(html)
        for problem in spain_formats(text)
    ]
    assert found == []


def test_the_pages_do_show_numbers_of_each_kind(pages: Rendered):
    # Guards the test above: the numbers it judges are really there.
    text = " ".join(t for html in pages.pages.values() for t in visible_text(html))
    assert f"Una nota de {len(LONG_NOTE):,} caracteres." in text  # 2,080
    assert "como máximo 50,000 caracteres (tiene 50,001)" in text
    assert re.search(r"\d+\.\d\u00a0kB", text), "a size with a decimal point"
    assert "hasta 400\u00a0kB" in text  # the limit on the too-large page
    assert "Las líneas" in text or "La línea" in text
    assert re.search(r"\d{1,2}:\d\d:\d\d\u202f[ap]\.\s?m\.", text), "an inbox time, 12-hour"
