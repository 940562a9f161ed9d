"""When the browser does not send the session cookie back (a Secure cookie set over
plain HTTP, or cookies blocked), the CSRF check cannot pass. The visitor must be told
that, not that the form "expired" (which sends them round in circles), on the tip
form and on the inbox's sign-in page, in their language."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from portal import create_app
from portal.config import Settings
from tests.public.helpers import token_in

EXPIRED = {"en": "This form has expired", "es": "Este formulario ha caducado"}
NO_COOKIE = {
    "en": "Your browser did not send back this site's cookie",
    "es": "Tu navegador no devolvió la cookie de este sitio",
}


@pytest.fixture
def secure_app(tmp_path: Path):
    app = create_app(Settings(data_dir=tmp_path / "data", secret_key="k", secure_cookies=True))
    yield app
    app.extensions["portal_storage_lock"].close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_tip_form_says_the_cookie_did_not_come_back(secure_app, lang, caplog) -> None:
    browser = secure_app.test_client()
    page = browser.get(f"/{lang}/", base_url="http://tips.example")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in [part.strip() for part in cookie.split(";")]
    # A browser keeps no Secure cookie from a plain-HTTP page, so it sends none back.
    browser.delete_cookie("portal_session", domain="tips.example")
    caplog.set_level(logging.WARNING)
    response = browser.post(
        f"/{lang}/",
        base_url="http://tips.example",
        data={"csrf_token": token_in(page.get_data(as_text=True)), "note": "hola"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert NO_COOKIE[lang] in text
    assert EXPIRED[lang] not in text
    assert f'<html lang="{lang}' in text
    assert "PORTAL_SECURE_COOKIES" in caplog.text  # the operator is told why


def test_a_stale_form_with_its_cookie_still_says_expired(secure_app) -> None:
    browser = secure_app.test_client()
    browser.get("/en/", base_url="https://tips.example")
    response = browser.post(
        "/en/", base_url="https://tips.example", data={"csrf_token": "stale", "note": "x"}
    )
    assert response.status_code == 400
    assert EXPIRED["en"] in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_inbox_sign_in_says_the_cookie_did_not_come_back(secure_app, lang) -> None:
    browser = secure_app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    page = browser.get("/inbox/login", base_url="http://inbox.example")
    assert "Secure" in page.headers["Set-Cookie"]
    browser.delete_cookie("portal_session", domain="inbox.example")
    response = browser.post(
        "/inbox/login",
        base_url="http://inbox.example",
        data={
            "csrf_token": token_in(page.get_data(as_text=True)),
            "name": "ana",
            "password": "x" * 12,
            "code": "123456",
        },
    )
    text = response.get_data(as_text=True)
    # A page, not a redirect: a message kept in the session would be lost the same way.
    assert response.status_code == 400
    assert NO_COOKIE[lang] in text
