"""Choosing the language: the / redirect, the switch link and hreflang."""

from __future__ import annotations

import re

import pytest

from portal.public import views
from portal.public.filing import FilingFailed
from tests.public.helpers import HTML_LANG, post_tip


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


def _pages(make_app, monkeypatch, lang: str):
    """Every kind of page a tipster can meet, in ``lang``."""
    app = make_app(max_file_size=1000, max_submission_size=100_000)
    client = app.test_client()
    yield "form", client.get(f"/{lang}/")
    yield "validation error", post_tip(client, lang)
    yield "receipt", post_tip(client, lang, note="n", files=[(b"MZ" + bytes(100), "a.exe")])
    yield "nothing saved", post_tip(client, lang, files=[(b"MZ" + bytes(100), "a.exe")])
    yield "honeypot", post_tip(client, lang, note="n", homepage="x")
    yield "csrf failure", post_tip(client, lang, note="n", token="forged")
    yield "too large", post_tip(client, lang, note="n", files=[(bytes(2000), "a.bin")])
    yield "not found", client.get(f"/{lang}/nonexistent")
    yield "wrong method", client.open(f"/{lang}/", method="PUT")

    def fail(*args, **kwargs):
        raise FilingFailed

    monkeypatch.setattr(views, "file_submission", fail)
    yield "could not be saved", post_tip(client, lang, note="n")


@pytest.mark.parametrize(("lang", "other"), [("es", "en"), ("en", "es")])
def test_every_page_names_its_language_and_links_the_other(make_app, monkeypatch, lang, other):
    seen = set()
    for name, response in _pages(make_app, monkeypatch, lang):
        seen.add(response.status_code)
        page = response.get_data(as_text=True)
        # Spanish pages say Mexican Spanish (es-MX); their address stays /es/.
        tag, other_tag = HTML_LANG[lang], HTML_LANG[other]
        assert re.search(rf'<html lang="{tag}"', page), name
        assert f'<link rel="alternate" hreflang="{other_tag}" href="/{other}/">' in page, name
        switch = re.search(r'<nav class="language-switch".*?</nav>', page, re.DOTALL)
        assert switch, name
        assert f'href="/{other}/" hreflang="{other_tag}" lang="{other_tag}"' in switch.group(0), (
            name
        )
        assert f'href="/{lang}/"' not in switch.group(0), name
    assert seen == {200, 400, 404, 405, 413, 422, 500}


def test_inbox_pages_do_not_get_the_public_switch(client):
    page = client.get("/inbox/nonexistent").get_data(as_text=True)
    assert '<link rel="alternate"' not in page


def test_unknown_language_is_a_translated_404(client):
    """No catalogue for French: the 404 follows Accept-Language among the languages
    the portal has, else the default (Spanish)."""
    expected = {
        "en": ("en", "Page not found", "There is nothing at this address."),
        "es": ("es", "Página no encontrada", "No hay nada en esta dirección."),
        "fr": ("es", "Página no encontrada", "No hay nada en esta dirección."),
        "fr, en;q=0.5": ("en", "Page not found", "There is nothing at this address."),
    }
    for accept, (lang, title, message) in expected.items():
        response = client.get("/fr/", headers={"Accept-Language": accept})
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert f'<html lang="{HTML_LANG[lang]}"' in page, accept
        assert f"<h1>{title}</h1>" in page, accept
        assert message in page, accept


def test_the_form_posts_back_to_its_own_language(client):
    for lang in ("es", "en"):
        page = client.get(f"/{lang}/").get_data(as_text=True)
        assert f'<form method="post" action="/{lang}/"' in page
