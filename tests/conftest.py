"""Shared fixtures: an app on a fresh data folder, and a test client for it.

Folders of tests add their own fixtures in their own conftest.py; keep this small.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.config import Settings
from tests.inbox_keys import with_inbox_key


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret-key")


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = with_inbox_key(create_app(settings))
    app.config["TESTING"] = True
    yield app
    # The storage lock stands for this process serving the data folder (see
    # portal.housekeeping.sweep_storage); a finished test no longer does.
    lock = app.extensions.get("portal_storage_lock")
    if lock is not None:
        lock.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
