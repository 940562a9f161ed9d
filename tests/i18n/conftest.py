"""Fixtures for the translation tests: the freshly extracted template, built once."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog

from tests.i18n.catalogues import extract_template


@pytest.fixture(scope="session")
def fresh_template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Every string marked in portal/ and templates/ right now, as `flask translate
    update` extracts them."""
    return extract_template(tmp_path_factory.mktemp("template"))
