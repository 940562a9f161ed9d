"""The browser the tests drive is Debian's Chromium, headless, with its background
networking (update checks, safe-browsing lists, metrics) off, as its own
chrome://version page reports."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_chromium_runs_headless_without_background_networking(browser: Browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("chrome://version")
        command_line = page.locator("#command_line").inner_text()
        executable = page.locator("#executable_path").inner_text()
    finally:
        context.close()
    assert executable.startswith("/usr/lib/chromium/"), executable  # Debian's package
    assert "--headless" in command_line.split()
    assert "--disable-background-networking" in command_line.split()
    assert "--disable-component-update" in command_line.split()
