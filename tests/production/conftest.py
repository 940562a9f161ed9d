"""One running production setup (README's gunicorn command behind deploy/'s nginx)
shared by the tests of this folder: starting it costs several seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.production.stack import Stack, production_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with production_stack(tmp_path_factory.mktemp("production")) as running:
        yield running
