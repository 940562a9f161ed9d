"""Security headers on every response, and the one cookie CSRF needs.

Expected headers are written out in tests/headers.py, never imported from the
product. Pages are checked by audience (public, inbox, errors); one test walks every
route the app registers, in each ``PORTAL_SERVE`` mode, and checks each response
against what its kind must carry (file responses are also checked one by one in
tests/inbox/test_files.py and test_thumbnails.py).
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from werkzeug.routing import AnyConverter, Rule

from portal.errors import ERROR_TEXTS
from portal.security import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY
from tests.apps import MakeApp
from tests.headers import (
    PAGE_POLICY,
    PERMISSIONS,
    assert_file_headers,
    assert_page_headers,
    assert_static_headers,
    permissions,
    policy,
)
from tests.inbox.helpers import (
    Clock,
    Filed,
    add_editor,
    csrf_from,
    file_submission,
    jpeg_file,
    pdf_file,
    sign_in,
)
from tests.public.helpers import png_bytes, post_tip


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
        assert_page_headers(response, name)  # no Strict-Transport-Security: plain HTTP


def test_policy_is_strict():
    """The product's constants, against the policy written out in tests/headers.py."""
    assert policy(CONTENT_SECURITY_POLICY) == PAGE_POLICY
    assert permissions(PERMISSIONS_POLICY) == PERMISSIONS


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


# --- not cached, except static files (from test_review_headers.py) -------------------
# Every public response that is not a static file the browser may cache (a 200 or
# 304 from /static/) says no-store, and none of them sets a cookie.


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/"),
        ("GET", "/static/css/nonexistent.css"),
        ("GET", "/static/../portal/__init__.py"),
        ("GET", "/static/%2e%2e/portal/__init__.py"),
        ("POST", "/static/css/portal.css"),
        ("GET", "/es/nonexistent"),
        ("GET", "/xx/"),
        ("PUT", "/es/"),
        ("OPTIONS", "/"),
    ],
)
def test_no_store_and_no_cookie(client, method, url):
    response = client.open(url, method=method)
    assert response.status_code != 200 or method == "OPTIONS"
    assert response.headers["Cache-Control"] == "no-store", (url, response.status_code)
    assert_page_headers(response, f"{method} {url}")
    assert response.headers.get("Set-Cookie") is None


def test_static_files_themselves_may_be_cached(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert_static_headers(response, "portal.css")


# --- inbox pages and error pages -------------------------------------------------------


def signed_in_editor(app: Flask, client: FlaskClient, base_url: str = "http://localhost") -> None:
    """Add an editor to ``app`` and sign ``client`` in as them (real time, real codes)."""
    account = add_editor(app, "ana", Clock(datetime.now(UTC)))
    assert sign_in(client, account, base_url).status_code == 302


def test_every_inbox_page_carries_the_security_headers(app):
    client = app.test_client()
    filed = file_submission(app, note="n", files=[jpeg_file()])
    assert_page_headers(client.get("/inbox/"), "signed out: to the sign-in page")
    assert_page_headers(client.get("/inbox/login"), "sign-in page")
    assert_page_headers(client.get("/inbox/language/es"), "language switch, signed out")
    signed_in_editor(app, client)
    pages = {
        "list": ("/inbox/", 200),
        "list, another view": ("/inbox/?view=starred&q=x", 200),
        "submission": (f"/inbox/s/{filed.id}", 200),
        "delete confirmation": (f"/inbox/s/{filed.id}/delete", 200),
        "audit log": ("/inbox/audit", 200),
        "language switch": ("/inbox/language/en", 302),
        "unknown submission": (f"/inbox/s/{'0' * 32}", 404),
        "unknown page": ("/inbox/nothing-here", 404),
    }
    for name, (url, status) in pages.items():
        response = client.get(url)
        assert response.status_code == status, name
        assert_page_headers(response, name)
    token = csrf_from(client.get("/inbox/").get_data(as_text=True))
    action = client.post(
        f"/inbox/s/{filed.id}/action", data={"csrf_token": token, "action": "star"}
    )
    assert action.status_code == 302
    assert_page_headers(action, "an action's redirect")
    assert_page_headers(client.post("/inbox/bulk", data={}), "a POST without its token")
    assert_page_headers(client.post("/inbox/logout", data={"csrf_token": token}), "sign-out")


@pytest.fixture
def failing_app(make_app: MakeApp) -> Flask:
    """An app with routes that fail with any status, under a language and the inbox."""
    app = make_app(max_submission_size=10_000)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/es/_fail/<int:code>", "fail", lambda code: abort(code))
    app.add_url_rule("/_crash", "crash", lambda: 1 / 0)
    return app


def test_every_error_page_carries_the_security_headers(failing_app):
    client = failing_app.test_client()
    for code in sorted(ERROR_TEXTS):
        response = client.get(f"/es/_fail/{code}")
        assert response.status_code == code
        assert_page_headers(response, f"error {code}")
    crash = client.get("/_crash")
    assert crash.status_code == 500
    assert_page_headers(crash, "an unhandled exception")
    too_large = post_tip(client, "en", note="n", files=[(bytes(20_000), "big.bin")])
    assert too_large.status_code == 413
    assert_page_headers(too_large, "too large")
    method = client.put("/en/")
    assert method.status_code == 405
    assert_page_headers(method, "wrong method")
    signed_in_editor(failing_app, client)
    missing = client.get(f"/inbox/s/{'0' * 32}/f/{'0' * 32}")
    assert missing.status_code == 404
    assert_page_headers(missing, "a file that does not exist")


# --- every route, in every PORTAL_SERVE mode ---------------------------------------------

#: endpoints whose successful answers carry a tipster's bytes
FILE_ENDPOINTS = {"inbox.download", "inbox.inline", "inbox.thumbnail", "inbox.download_all"}
#: POSTs that end what the walk needs: made last
LAST = ("inbox.delete", "inbox.sign_out")
BASE_URL = "https://portal.example"
#: conditional request headers, and the response header each repeats
CONDITIONS = (("If-None-Match", "ETag"), ("If-Modified-Since", "Last-Modified"))


def argument_values(filed: Filed) -> dict[str, list[str]]:
    return {
        "lang": ["es", "en"],
        "page": ["safety", "seguridad"],  # the safety guide, by its English and Spanish names
        "code": ["es", "en"],
        "filename": ["css/portal.css", "js/progress.js"],
        "submission_id": [filed.id],
        "file_id": filed.file_ids,
    }


def urls(app: Flask, rule: Rule, method: str, filed: Filed) -> list[str]:
    """Every URL of ``rule`` with the walk's values for its arguments."""
    values = argument_values(filed)
    # A path that takes one of a few words (<any(...)>) is walked with each of them.
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)
    unknown = rule.arguments - values.keys()
    assert not unknown, f"{rule.rule}: give this test values for {sorted(unknown)}"
    names = sorted(rule.arguments)
    adapter = app.url_map.bind("portal.example", url_scheme="https")
    return [
        adapter.build(rule.endpoint, dict(zip(names, combination, strict=True)), method=method)
        for combination in itertools.product(*(values[name] for name in names))
    ]


def check_kind(endpoint: str, method: str, response, what: str) -> str:
    """Check ``response`` against what its kind must carry; return the kind. An
    OPTIONS answer lists methods and carries no file, but is a static file's own
    answer (the product lets a static 200 be cached whatever the method)."""
    served = response.status_code in {200, 206, 304}
    if served and endpoint in FILE_ENDPOINTS and method != "OPTIONS":
        assert_file_headers(response, what)
        return "file"
    if served and endpoint == "static":
        assert_static_headers(response, what)
        return "static"
    assert_page_headers(response, what)
    return "page"


def answers(client: FlaskClient, method: str, url: str) -> list[tuple[str, object]]:
    """What the walk asks of one URL with one method, and the answers: a POST with and
    without a CSRF token; a GET that answered with a body, again for a byte range and
    conditionally (ETag, Last-Modified)."""
    if method == "POST":
        token = page_token(client)
        return [
            ("without a token", client.post(url, base_url=BASE_URL)),
            ("with a token", client.post(url, data={"csrf_token": token}, base_url=BASE_URL)),
        ]
    first = client.open(url, method=method, base_url=BASE_URL)
    found: list[tuple[str, object]] = [("", first)]
    if method == "GET" and first.status_code == 200:
        ranged = client.get(url, headers={"Range": "bytes=0-9"}, base_url=BASE_URL)
        found.append(("bytes 0-9", ranged))
        for condition, header in (
            ("If-None-Match", "ETag"),
            ("If-Modified-Since", "Last-Modified"),
        ):
            if header in first.headers:
                headers = {condition: first.headers[header]}
                found.append((condition, client.get(url, headers=headers, base_url=BASE_URL)))
    return found


def walk(app: Flask, client: FlaskClient, filed: Filed) -> set[str]:
    """Request every registered route with every method it allows; the kinds seen."""
    seen = set()
    rules = sorted(
        app.url_map.iter_rules(),
        key=lambda rule: LAST.index(rule.endpoint) + 1 if rule.endpoint in LAST else 0,
    )
    for rule in rules:
        for method in sorted(rule.methods or ()):
            for url in urls(app, rule, method, filed):
                for how, response in answers(client, method, url):
                    what = f"{method} {url} {how} ({rule.endpoint})"
                    seen.add(check_kind(rule.endpoint, method, response, what))
    return seen


def page_token(client: FlaskClient) -> str | None:
    """A CSRF token for this client's session, from whichever form the app serves."""
    for url in ("/inbox/", "/inbox/login", "/es/"):
        page = client.get(url, base_url=BASE_URL, follow_redirects=True)
        if page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True):
            return csrf_from(page.get_data(as_text=True))
    return None


@pytest.mark.parametrize(
    ("serve", "kinds"),
    [
        ("all", {"page", "file", "static"}),
        ("public", {"page", "static"}),
        ("inbox", {"page", "file", "static"}),
    ],
)
def test_every_route_answers_with_the_headers_of_its_kind(make_app, serve, kinds):
    """Over HTTPS (so Strict-Transport-Security is expected too), signed out and then
    signed in: a route added later is covered without editing this test, or fails it
    until the test knows values for its arguments."""
    app = make_app(serve=serve)
    filed = file_submission(app, note="n", files=[jpeg_file(), pdf_file()])
    client = app.test_client()
    signed_out = walk(app, client, filed)
    assert "file" not in signed_out  # nothing of a tipster's reaches a stranger
    if serve != "public":
        signed_in_editor(app, client, base_url=BASE_URL)
    assert signed_out | walk(app, client, filed) == kinds
