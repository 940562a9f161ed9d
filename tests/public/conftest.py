"""Fixtures for the tipster side: apps with chosen limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.config import Settings
from tests.inbox_keys import with_inbox_key


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on ``tmp_path/data`` with some settings changed."""
    made: list[Flask] = []

    def build(**overrides: object) -> Flask:
        settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret-key")
        app = with_inbox_key(create_app(settings.with_overrides(**overrides)))
        app.config["TESTING"] = True
        made.append(app)
        return app

    yield build
    for app in made:
        lock = app.extensions.get("portal_storage_lock")
        if lock is not None:
            lock.close()
