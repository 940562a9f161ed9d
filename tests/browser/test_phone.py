"""The public pages on a phone: at 360x740 nothing scrolls sideways, everything a
thumb can tap (links, buttons, fields, checkbox labels, summaries that open) is at
least 44x44 CSS pixels, and the form's first field starts on the first screen.
Each page is also saved as a screenshot at phone and desktop size, in both languages,
under test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import running_server
from tests.browser.helpers import (
    DESKTOP,
    LANGUAGES,
    PHONE,
    PUBLIC_PAGES,
    LiveServer,
    open_public_page,
)

#: a well-formed version 3 onion address (no such service exists)
ONION = "portalx" + "a" * 45 + "b2cd.onion"

pytestmark = pytest.mark.browser

MIN_TAP = 44

#: every tap target on the page, with its size; hidden helpers (the honeypot, the skip
#: link until it is focused) are left out
TAP_TARGETS = """() => {
  const found = [];
  const selector = 'a[href], button, input:not([type=hidden]), textarea, select, label, summary';
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('[aria-hidden=true]') || el.classList.contains('skip-link')) continue;
    const box = el.getBoundingClientRect();
    if (el.tagName === 'LABEL' && !el.querySelector('[type=checkbox], [type=radio]')) continue;
    const text = (el.innerText || el.value || el.name || '').trim().slice(0, 40);
    const what = `<${el.tagName.toLowerCase()}> ${text}`;
    found.push({what, width: box.width, height: box.height});
  }
  return found;
}"""


def _too_small(page: Page) -> list[str]:
    return [
        f"{t['what']!r}: {t['width']:.0f}x{t['height']:.0f}"
        for t in page.evaluate(TAP_TARGETS)
        if t["width"] < MIN_TAP or t["height"] < MIN_TAP
    ]


@pytest.mark.parametrize("name", PUBLIC_PAGES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_page_fits_a_phone_and_is_easy_to_tap(
    new_context, public_page_files, screenshots, lang, name
):
    page = new_context(lang, viewport=PHONE).new_page()
    open_public_page(page, name, lang, public_page_files)
    page.screenshot(path=screenshots / f"{name}-{lang}-phone.png", full_page=True)

    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways: {width}px wide"
    assert _too_small(page) == []

    # The skip link appears when focused, and is a proper target then.
    skip = page.locator(".skip-link")
    skip.focus()
    box = skip.bounding_box()
    assert box is not None and box["height"] >= MIN_TAP and box["x"] >= 0
    skip.blur()

    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshots / f"{name}-{lang}-desktop.png", full_page=True)


@pytest.fixture(scope="module")
def onion_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The portal with an onion address to show (the longest line on the form)."""
    with running_server(
        tmp_path_factory.mktemp("onion-server"), PORTAL_ONION_ADDRESS=ONION
    ) as live:
        yield live


@pytest.mark.parametrize("onion", [False, True], ids=["plain", "onion"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_form_starts_on_a_phones_first_screen(new_context, request, lang, js, onion):
    # A frightened tipster on a cheap phone sees where to write without scrolling.
    options = {"base_url": request.getfixturevalue("onion_server").url} if onion else {}
    page = new_context(lang, js=js, viewport=PHONE, **options).new_page()
    page.goto(f"/{lang}/")
    if onion:
        assert page.locator(".onion").is_visible()
    label = page.locator("label[for=note]").bounding_box()
    field = page.locator("#note").bounding_box()
    assert label is not None and field is not None
    assert label["y"] < field["y"] < PHONE["height"] - 44, (label, field)
    assert page.evaluate("() => window.scrollY") == 0
    # What moved below the heading opens without JavaScript, and is tall enough to tap.
    for summary in page.locator("details > summary").all():
        box = summary.bounding_box()
        assert box is not None and box["height"] >= MIN_TAP
    page.locator("details.limits > summary").click()
    assert page.locator("details.limits").evaluate("d => d.open")
    assert page.locator("details.limits li").first.is_visible()
