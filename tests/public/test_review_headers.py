"""Every public response that is not a static file the browser may cache (a 200 or
304 from /static/) says no-store, and none of them sets a cookie."""

from __future__ import annotations

import pytest


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
    assert response.headers.get("Set-Cookie") is None


def test_static_files_themselves_may_be_cached(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
