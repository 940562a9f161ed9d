"""Choosing the language: the / redirect, the switch link and hreflang."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en;q=0.5, es;q=0.9", "es"),
        ("es;q=0.2, en;q=0.8", "en"),
        ("fr, en;q=0.1", "en"),
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9", "en"),
        ("fr, de;q=0.8", "default"),
        (None, "default"),
    ],
)
@pytest.mark.parametrize("default", ["es", "en"])
def test_root_redirects_by_accept_language(make_app, header, expected, default):
    client = make_app(default_locale=default).test_client()
    headers = {"Accept-Language": header} if header else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 302
    lang = default if expected == "default" else expected
    assert response.headers["Location"] == f"/{lang}/"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(("lang", "other"), [("es", "en"), ("en", "es")])
def test_each_page_names_its_language_and_links_the_other(client, lang, other):
    page = client.get(f"/{lang}/").get_data(as_text=True)
    assert re.search(rf'<html lang="{lang}"', page)
    assert f'<link rel="alternate" hreflang="{other}" href="/{other}/">' in page
    switch = re.search(r'<nav class="language-switch".*?</nav>', page, re.DOTALL).group(0)
    assert f'href="/{other}/" hreflang="{other}" lang="{other}"' in switch
    assert f'href="/{lang}/"' not in switch


def test_unknown_language_is_a_translated_404(client):
    response = client.get("/fr/")
    assert response.status_code == 404
    assert "<html lang=" in response.get_data(as_text=True)


def test_the_form_posts_back_to_its_own_language(client):
    for lang in ("es", "en"):
        page = client.get(f"/{lang}/").get_data(as_text=True)
        assert f'<form method="post" action="/{lang}/"' in page
