"""Without Chromium the browser tests skip on a developer's machine, saying why, and
fail in CI (``CI=true``). Needs no browser itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.helpers import require_chromium, running_in_ci


def test_missing_chromium_skips_outside_ci_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "chromium"
    for environ in ({}, {"CI": ""}, {"CI": "false"}, {"CI": "0"}):
        with pytest.raises(pytest.skip.Exception, match=r"chromium is missing.*fail in CI"):
            require_chromium(missing, environ)


def test_missing_chromium_fails_in_ci(tmp_path: Path) -> None:
    for value in ("true", "1", "TRUE", "yes"):
        assert running_in_ci({"CI": value})
        with pytest.raises(pytest.fail.Exception, match="CI=true"):
            require_chromium(tmp_path / "chromium", {"CI": value})


def test_present_chromium_is_used(tmp_path: Path) -> None:
    present = tmp_path / "chromium"
    present.write_bytes(b"")
    require_chromium(present, {"CI": "true"})
    require_chromium(present, {})
