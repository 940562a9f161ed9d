"""The security headers each kind of response must carry, written out here rather
than imported from portal.security or portal.inbox.files: a test comparing a header
with the product's own constant compares a value with itself, and passes whatever the
constant says.

Three kinds of response:

- a **page**: HTML, a redirect, an error; the strict page policy, never cached;
- a **file**: a tipster's bytes, or the promise of them (HEAD, 206, 304), served to an
  editor; a sandboxing policy, never sniffed, never cached;
- a **static** file of our own (stylesheet, script): the page policy; browsers may
  cache it.

Over HTTPS every response also carries Strict-Transport-Security.
"""

from __future__ import annotations

from werkzeug.test import TestResponse

#: the Content-Security-Policy of every page and static file, directive by directive
PAGE_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "media-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}
#: the Content-Security-Policy of every response carrying a tipster's file: nothing may
#: load, and the document is sandboxed (no scripts, no forms, an opaque origin)
FILE_POLICY = {"default-src": "'none'", "sandbox": ""}
#: the Permissions-Policy: every powerful feature off
PERMISSIONS = {
    "accelerometer": "()",
    "camera": "()",
    "geolocation": "()",
    "gyroscope": "()",
    "magnetometer": "()",
    "microphone": "()",
    "payment": "()",
    "usb": "()",
    "interest-cohort": "()",
    "browsing-topics": "()",
}
#: what every response carries, whatever its kind
EVERY_RESPONSE = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
NOT_CACHED = {"Cache-Control": "no-store", "Pragma": "no-cache"}
HSTS = "max-age=63072000"


def policy(value: str) -> dict[str, str]:
    """A Content-Security-Policy as {directive: sources}."""
    directives = {}
    for part in value.split(";"):
        name, _, sources = part.strip().partition(" ")
        assert name not in directives, f"{name} given twice in {value!r}"
        directives[name] = sources.strip()
    return directives


def permissions(value: str) -> dict[str, str]:
    """A Permissions-Policy as {feature: allow list}."""
    return dict(item.strip().split("=", 1) for item in value.split(","))


def _check(response: TestResponse, expected_policy: dict[str, str], cached: bool, what: str):
    where = f"{what} ({response.status_code})" if what else str(response.status_code)
    headers = response.headers
    assert policy(headers.get("Content-Security-Policy", "")) == expected_policy, where
    assert permissions(headers.get("Permissions-Policy", "")) == PERMISSIONS, where
    for name, value in EVERY_RESPONSE.items():
        assert headers.get(name) == value, (where, name)
    if cached:
        assert "no-store" not in headers.get("Cache-Control", ""), where
    else:
        for name, value in NOT_CACHED.items():
            assert headers.get(name) == value, (where, name)
    request = getattr(response, "request", None)
    https = request is not None and request.scheme == "https"
    assert headers.get("Strict-Transport-Security") == (HSTS if https else None), where


def assert_page_headers(response: TestResponse, what: str = "") -> None:
    """A page, a redirect or an error page: the strict policy, never cached."""
    _check(response, PAGE_POLICY, cached=False, what=what)


def assert_file_headers(response: TestResponse, what: str = "") -> None:
    """A tipster's file (or HEAD, 206, 304 for one): sandboxed and never cached."""
    _check(response, FILE_POLICY, cached=False, what=what)


def assert_static_headers(response: TestResponse, what: str = "") -> None:
    """One of our own static files: the page policy; it may be cached."""
    _check(response, PAGE_POLICY, cached=True, what=what)
