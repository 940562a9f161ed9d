"""What nginx answers by itself is the portal's page in the visitor's language.

deploy/'s nginx runs here in front of upstream ports where nothing listens: every
request is a 502 that nginx answers alone, as when the portal is down or restarting.
A body declared over ``client_max_body_size`` is a 413 from nginx before any byte of
it is read. The pages must be the committed ones for the address's language (the
catalogues' text: tests/i18n/test_unavailable_pages.py checks they are current),
carry the headers the portal's own pages carry, and never name nginx.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.unavailable import FOLDER as PAGES
from tests.headers import EVERY_RESPONSE, HSTS, NOT_CACHED, PERMISSIONS, permissions, policy
from tests.production.stack import NginxPorts, free_ports, running_nginx

#: the pages' Content-Security-Policy: the portal's page policy without scripts,
#: media or connections (the pages have none) and with no form to send anywhere
NGINX_PAGE_POLICY = {
    "default-src": "'none'",
    "style-src": "'self'",
    "img-src": "'self'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


@pytest.fixture(scope="module")
def dead_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxPorts]:
    base = tmp_path_factory.mktemp("unavailable")
    with running_nginx(base, *free_ports(2)) as (_nginx, _prefix, ports):
        yield ports


def _ask(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    https: bool = False,
    source: str = "127.0.0.1",
):
    if https:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # self-signed
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=30, context=context, source_address=(source, 0)
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def _assert_portal_page(
    headers: dict[str, str], body: str, expected: str, *, https: bool = False
) -> None:
    assert body == (PAGES / expected).read_text(encoding="utf-8")
    assert "nginx" not in body.lower()
    assert headers["Content-Type"] == "text/html"
    assert policy(headers["Content-Security-Policy"]) == NGINX_PAGE_POLICY
    assert permissions(headers["Permissions-Policy"]) == PERMISSIONS
    for name, value in {**EVERY_RESPONSE, **NOT_CACHED}.items():
        assert headers[name] == value, name
    assert headers.get("Strict-Transport-Security") == (HSTS if https else None)
    assert "Set-Cookie" not in headers


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("/es/", "es"),
        ("/en/follow-up", "en"),
        ("/en?x=1", "en"),
        ("/", "es"),  # no language in the address: the portal's default
        ("/fr/", "es"),  # a language the portal has no pages for
        ("/enx/", "es"),
    ],
)
def test_the_portal_down_gets_the_translated_502_page(dead_upstream, path, language) -> None:
    status, headers, body = _ask(dead_upstream.onion, "GET", path)
    assert status == 502
    _assert_portal_page(headers, body, f"{language}/502.html")


def test_an_upload_while_the_portal_is_down_gets_the_page_too(dead_upstream) -> None:
    status, headers, body = _ask(
        dead_upstream.onion, "POST", "/en/", {"Content-Type": "text/plain", "Content-Length": "0"}
    )
    assert status == 502  # not 405: error pages are served to any method
    _assert_portal_page(headers, body, "en/502.html")


@pytest.mark.parametrize(("path", "language"), [("/es/", "es"), ("/en/", "en")])
def test_a_body_declared_over_nginx_limit_gets_the_translated_413_page(
    dead_upstream, path, language
) -> None:
    too_large = str(4101 * 1024 * 1024)  # client_max_body_size is 4100m
    status, headers, body = _ask(dead_upstream.onion, "POST", path, {"Content-Length": too_large})
    assert status == 413
    _assert_portal_page(headers, body, f"{language}/413.html")


def test_the_pages_cannot_be_asked_for_directly(dead_upstream) -> None:
    status, headers, body = _ask(dead_upstream.onion, "GET", "/unavailable/502.html")
    assert status == 404
    _assert_portal_page(headers, body, "es/404.html")


def test_the_inbox_site_gets_the_pages_too(dead_upstream) -> None:
    status, headers, body = _ask(dead_upstream.inbox_onion, "GET", "/inbox/")
    assert status == 502
    _assert_portal_page(headers, body, "es/502.html")


def test_an_address_or_headers_too_long_get_the_400_page(dead_upstream) -> None:
    long_address = "/en/" + "a" * 9000  # over large_client_header_buffers' 8k
    status, headers, body = _ask(dead_upstream.onion, "GET", long_address)
    assert status == 414
    _assert_portal_page(headers, body, "es/400.html")  # an address not read: no language
    status, headers, body = _ask(dead_upstream.onion, "GET", "/es/", {"X-Long": "b" * 9000})
    assert status == 400
    _assert_portal_page(headers, body, "es/400.html")


@pytest.mark.parametrize(
    ("site", "path", "accept", "language"),
    [
        ("onion", "/", "en-US,en;q=0.9,es;q=0.5", "en"),
        ("onion", "/", "es-MX,es;q=0.9", "es"),
        ("onion", "/", "de-DE,de;q=0.9", "es"),  # no pages in German
        ("onion", "/es/", "en-US,en;q=0.9", "es"),  # the address decides first
        ("inbox_onion", "/inbox/", "en", "en"),
        ("inbox_onion", "/inbox/", "", "es"),
    ],
)
def test_an_address_without_a_language_follows_the_browser(
    dead_upstream, site, path, accept, language
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    status, answer_headers, body = _ask(getattr(dead_upstream, site), "GET", path, headers)
    assert status == 502
    _assert_portal_page(answer_headers, body, f"{language}/502.html")


def test_over_https_the_pages_carry_strict_transport_security(dead_upstream) -> None:
    status, headers, body = _ask(dead_upstream.https, "GET", "/en/", https=True)
    assert status == 502
    _assert_portal_page(headers, body, "en/502.html", https=True)


def test_plain_http_to_the_https_port_gets_the_400_page(dead_upstream) -> None:
    status, headers, body = _ask(dead_upstream.https, "GET", "/en/")
    assert status == 400
    _assert_portal_page(headers, body, "en/400.html")


def test_a_transfer_coding_nginx_does_not_know_gets_the_400_page(dead_upstream) -> None:
    status, headers, body = _ask(
        dead_upstream.onion, "POST", "/en/", {"Transfer-Encoding": "gzip, chunked"}
    )
    assert status == 501
    _assert_portal_page(headers, body, "en/400.html")


def test_a_page_nginx_cannot_read_leaves_no_address_in_any_log(tmp_path: Path) -> None:
    """nginx logs "client: <address>" for a page it cannot read (and for a full body
    folder) even at "crit": the servers must keep no error log at all."""
    marked = "127.0.0.9"
    with running_nginx(tmp_path, *free_ports(2)) as (_nginx, prefix, ports):
        (prefix / "static" / "unavailable" / "es").chmod(0)  # stat() fails: "crit"
        status, _headers, _body = _ask(ports.onion, "GET", "/es/", source=marked)
        assert status == 500  # nginx fell back to its own page, having failed to read ours
        (prefix / "static" / "unavailable" / "es").chmod(0o755)
        for path in [p for p in prefix.rglob("*") if p.is_file()]:
            if path.suffix != ".html":
                assert marked.encode() not in path.read_bytes(), path
    assert marked.encode() not in (tmp_path / "nginx.stderr").read_bytes()
