"""Accessibility in a real browser: axe-core (pinned in conftest.AXE_VERSION) finds no
serious or critical violation on any page, every form field has a label, and form
errors are announced (focus moves to an error summary that is an ARIA alert).

axe is injected into the page, which the portal's Content-Security-Policy forbids, so
only the axe contexts bypass the policy; the journeys keep it. Every finding, of any
impact, is written to test-artifacts/axe/ for a person to read."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import (
    DESKTOP,
    LANGUAGES,
    PHONE,
    PUBLIC_PAGES,
    ROOT,
    fill_tip,
    open_public_page,
    sign_in,
)
from tests.public.helpers import HTML_LANG

pytestmark = pytest.mark.browser

REPORTS = ROOT / "test-artifacts" / "axe"
BLOCKING = {"serious", "critical"}

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
  }));
}"""

UNLABELLED_FIELDS = """() => {
  const named = el => {
    if ([...(el.labels || [])].some(l => l.textContent.trim())) return true;
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    return (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(
      id => id && document.getElementById(id) && document.getElementById(id).textContent.trim());
  };
  return [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
    .filter(el => !named(el)).map(el => el.outerHTML.slice(0, 100));
}"""


def audit(page: Page, axe_source: str, name: str) -> list[dict]:
    """Run axe on the page; save every finding; return the serious and critical ones."""
    page.add_script_tag(content=axe_source)
    found = page.evaluate(AXE_RUN)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(found, indent=1, ensure_ascii=False))
    return [v for v in found if v["impact"] in BLOCKING]


def unlabelled(page: Page) -> list[str]:
    return page.evaluate(UNLABELLED_FIELDS)


@pytest.mark.parametrize("name", PUBLIC_PAGES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_pages_pass_axe(new_context, axe_source, public_page_files, lang, name):
    page = new_context(lang, bypass_csp=True).new_page()
    open_public_page(page, name, lang, public_page_files)
    assert audit(page, axe_source, f"{name}-{lang}") == []
    assert unlabelled(page) == []


def _inbox_page(page: Page, axe_source: str, screenshots: Path, name: str) -> list[dict]:
    """axe's serious findings on an inbox page (whose fields must all be labelled);
    the page is saved as a screenshot at desktop and at phone size, and must not
    scroll sideways at phone size."""
    found = audit(page, axe_source, f"inbox-{name}")
    assert unlabelled(page) == [], name
    page.screenshot(path=screenshots / f"inbox-{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / f"inbox-{name}-phone.png", full_page=True)
    # An editor may check the inbox on a phone: wide tables scroll inside themselves.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"inbox {name} scrolls sideways: {width}px wide"
    page.set_viewport_size(DESKTOP)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_inbox_pages_pass_axe_and_label_every_field(
    new_context, server, axe_source, generated_upload, screenshots, lang
):
    marker = f"axe{secrets.token_hex(4)}"
    new_editor = server.add_editor_soon(f"axe-{lang}-{secrets.token_hex(3)}")
    tipster = new_context(lang, js=False).new_page()
    tipster.goto(f"/{lang}/")
    fill_tip(tipster, generated_upload, f"Nota de prueba {marker}")
    tipster.locator("#contact").fill("signal: tipster.42")
    before = server.submission_folders()
    tipster.locator("button.send").click()
    tipster.locator("ol.file-list").wait_for()
    (submission_id,) = server.submission_folders() - before

    page = new_context(lang, viewport=DESKTOP, bypass_csp=True).new_page()
    page.goto("/inbox/login")
    problems = {"sign-in": _inbox_page(page, axe_source, screenshots, f"sign-in-{lang}")}
    sign_in(page, new_editor())
    page.goto(f"/inbox/?q={marker}")
    problems["list"] = _inbox_page(page, axe_source, screenshots, f"list-{lang}")
    page.goto(f"/inbox/s/{submission_id}")
    page.locator("video.player").wait_for()
    page.locator("img.thumbnail").evaluate("img => img.decode()")
    problems["submission"] = _inbox_page(page, axe_source, screenshots, f"submission-{lang}")
    page.goto(f"/inbox/s/{submission_id}/delete")
    problems["confirm-delete"] = _inbox_page(
        page, axe_source, screenshots, f"confirm-delete-{lang}"
    )
    page.goto("/inbox/audit")
    problems["audit"] = _inbox_page(page, axe_source, screenshots, f"audit-{lang}")
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("js", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_form_errors_are_announced_and_focused(new_context, lang, js, words):
    page = new_context(lang, js=js).new_page()
    page.goto(f"/{lang}/")
    page.locator("#links").fill("not a link")
    page.locator("button.send").click()
    summary = page.locator("#error-summary")
    summary.wait_for()

    # Focus moves to the summary, which is an alert: screen readers read it at once.
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    assert summary.get_attribute("role") == "alert"
    messages = summary.locator("li a")
    assert messages.count() == 1
    expected = words(
        lang, "Line %(lines)s is not a web address starting with http:// or https://."
    ).replace("%(lines)s", "1")
    assert messages.first.inner_text() == expected

    # The message leads to the field, which says it is invalid and why.
    messages.first.click()
    assert page.evaluate("() => document.activeElement.id") == "links"
    field = page.locator("#links")
    assert field.get_attribute("aria-invalid") == "true"
    described = field.get_attribute("aria-describedby").split()
    assert "links-error" in described
    assert expected in page.locator("#links-error").inner_text()
    assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]


def test_the_checks_catch_a_field_without_a_label(new_context, axe_source):
    # The harness must be able to fail: take the note's label away and both notice.
    page = new_context("en", bypass_csp=True).new_page()
    page.goto("/en/")
    page.evaluate("() => document.querySelector('label[for=note]').remove()")
    assert unlabelled(page) == [page.locator("#note").evaluate("e => e.outerHTML.slice(0, 100)")]
    found = audit(page, axe_source, "broken-on-purpose")
    assert any(v["id"] == "label" and "#note" in v["nodes"] for v in found), found
