"""PORTAL_SERVE: a public-only process has no inbox at all, an inbox-only process has
no public form, and its root leads to the inbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from tests.apps import MakeApp
from tests.inbox.helpers import Clock, add_editor, sign_in


@pytest.fixture
def serving(make_app: MakeApp, tmp_path: Path) -> Callable[[str], Flask]:
    """``serving(mode)``: an app with ``PORTAL_SERVE=mode``, on a data folder of its own."""
    return lambda serve: make_app(data_dir=tmp_path / serve, serve=serve)


def test_public_only_has_no_inbox_route(serving) -> None:
    app = serving("public")
    client = app.test_client()
    for path in ("/inbox/", "/inbox/login", "/inbox/audit", "/inbox/language/en", "/inbox"):
        # ("/inbox" is redirected to "/inbox/" by the public /<lang>/ rule, then 404.)
        assert client.get(path, follow_redirects=True).status_code == 404, path
    assert client.post("/inbox/login").status_code == 404
    assert not any(rule.rule.startswith("/inbox") for rule in app.url_map.iter_rules())
    assert "inbox" not in app.blueprints
    assert not hasattr(app, "login_manager")
    # The public form is there.
    assert client.get("/es/").status_code == 200


def test_inbox_only_has_no_public_form(serving, clock: Clock) -> None:
    app = serving("inbox")
    client = app.test_client()
    assert "public" not in app.blueprints
    assert client.get("/es/").status_code == 404
    assert client.post("/es/").status_code == 404
    root = client.get("/")
    assert root.status_code == 302 and root.location == "/inbox/"
    assert client.get("/inbox/").location.startswith("/inbox/login")
    account = add_editor(app, "ana", clock)
    assert sign_in(client, account).status_code == 302
    assert client.get("/inbox/").status_code == 200


def test_all_serves_both_and_the_root_is_the_public_side(serving) -> None:
    app = serving("all")
    client = app.test_client()
    assert client.get("/es/").status_code == 200
    assert client.get("/inbox/login").status_code == 200
    root = client.get("/", headers={"Accept-Language": "en"})
    assert root.status_code == 302 and root.location == "/en/"
