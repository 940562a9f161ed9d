"""Security headers on every public page, and the one cookie CSRF needs."""

from __future__ import annotations

import re

import pytest

from portal.security import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY
from tests.public.helpers import png_bytes, post_tip

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _responses(client):
    yield "redirect", client.get("/")
    yield "form es", client.get("/es/")
    yield "form en", client.get("/en/")
    yield "not found", client.get("/xx/")
    yield "validation error", post_tip(client, "es")
    yield "receipt", post_tip(client, "en", note="hello", files=[(png_bytes(), "a.png")])
    yield "csrf failure", client.post("/en/", data={"note": "x"})


def test_every_public_response_carries_the_security_headers(client):
    for name, response in _responses(client):
        for header, value in EXPECTED.items():
            assert response.headers.get(header) == value, (name, header)
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_policy_is_strict():
    """Written out here rather than read from portal.security, so that a weakened
    policy fails this test."""
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives.pop("default-src") == "'none'"
    assert directives.pop("form-action") == "'self'"
    assert directives.pop("frame-ancestors") == "'none'"
    assert directives.pop("base-uri") == "'none'"
    # 'self' only, and only for what the pages use
    assert directives == {
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "media-src": "'self'",
        "connect-src": "'self'",
    }
    features = dict(item.split("=", 1) for item in PERMISSIONS_POLICY.split(", "))
    for feature in ("camera", "microphone", "geolocation", "interest-cohort", "browsing-topics"):
        assert features.pop(feature) == "()", feature
    assert set(features.values()) == {"()"}


@pytest.mark.proves("nothing-that-follows-you")
def test_pages_have_no_inline_script_style_or_third_party_resource(client):
    for name, response in _responses(client):
        page = response.get_data(as_text=True)
        # Scripts only as files from this site's static folder, never inline code.
        outside = re.sub(r'<script src="/static/js/[\w.-]+\.js"></script>', "", page)
        assert "<script" not in outside, name
        assert "<style" not in page, name
        assert not re.search(r"\sstyle=", page), name
        assert not re.search(r"\son[a-z]+=", page), name
        assert not re.search(r'(src|href)="(https?:)?//', page), name


def test_static_stylesheet_is_served_from_self(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "text/css" in response.headers["Content-Type"]
    assert "@import" not in response.get_data(as_text=True)


@pytest.mark.proves("nothing-that-follows-you")
def test_form_sets_only_the_session_cookie_httponly_strict(client):
    assert client.get("/", headers={"Accept-Language": "es"}).headers.getlist("Set-Cookie") == []
    cookies = client.get("/es/").headers.getlist("Set-Cookie")
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie.startswith("portal_session=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert not any(a.startswith(("expires", "max-age")) for a in attributes)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_receipt_sets_no_new_cookie(client, lang):
    client.get(f"/{lang}/")
    response = post_tip(client, lang, note="hello")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []


#: a well-formed version 3 onion address (no such service exists)
ONION = "portalx" + "a" * 45 + "b2cd.onion"


def test_onion_location_offers_the_onion_service_for_the_same_page(make_app):
    client = make_app(onion_address=ONION).test_client()
    # Tor Browser offers to open the page it is on at the onion service.
    assert client.get("/es/").headers["Onion-Location"] == f"http://{ONION}/es/"
    assert client.get("/en/?x=1").headers["Onion-Location"] == f"http://{ONION}/en/?x=1"
    # Not on the onion service itself, and never on the editors' side.
    assert "Onion-Location" not in client.get("/es/", headers={"Host": ONION}).headers
    assert "Onion-Location" not in client.get("/inbox/login").headers


def test_no_onion_location_without_an_onion_service(client):
    assert "Onion-Location" not in client.get("/es/").headers
