"""Shared fixtures: an app on a fresh data folder, and a test client for it; and, for
every test, a check that each PDF it cleans renders as its original did.

Folders of tests add their own fixtures in their own conftest.py; keep this small.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.cleaning.pdf import PdfCleaner
from portal.config import Settings
from tests.inbox_keys import with_inbox_key
from tests.pdf_rendering import rendering_difference


@pytest.fixture(autouse=True)
def cleaned_pdfs_render_the_same(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Compare the rendered pages of every PDF the test cleans, in whatever way it
    does, with its original's (tests/pdf_rendering.py); fail the test on a
    difference. Checked inside the cleaner, before its output is renamed, and
    reported at the end (an exception inside would be taken for a refusal).
    A test marked ``pdf_renders_differently(reason)`` is exempt, for the reason
    given."""
    if request.node.get_closest_marker("pdf_renders_differently") is not None:
        yield
        return
    differences: list[str] = []
    clean = PdfCleaner.clean

    def clean_and_compare(self, src, dst, limits, depth):  # type: ignore[no-untyped-def]
        result = clean(self, src, dst, limits, depth)
        difference = rendering_difference(Path(src), Path(dst))
        if difference is not None:
            differences.append(f"{Path(src).name}: {difference}")
        return result

    monkeypatch.setattr(PdfCleaner, "clean", clean_and_compare)
    yield
    assert differences == [], "cleaned PDFs render differently"


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
