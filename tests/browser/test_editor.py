"""An editor signs in with a password and a TOTP code, finds a tip a tipster has just
sent through the form, looks at the photo, plays the video, downloads the photo
(exiftool finds no metadata in it), then stars, archives and deletes the submission.
In both languages, in a desktop-sized browser with JavaScript on."""

from __future__ import annotations

import re
import secrets

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.helpers import DESKTOP, LANGUAGES, send_tip, sign_in
from tests.exiftool_oracle import leaks
from tests.public.helpers import HTML_LANG

pytestmark = pytest.mark.browser


def _open_from_list(page: Page, url: str, submission_id: str) -> None:
    page.goto(url)
    links = page.locator(f"table.submissions a[href$='/inbox/s/{submission_id}']")
    assert links.count() == 1, url
    links.click()
    page.wait_for_url(f"**/inbox/s/{submission_id}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_editor_reads_plays_downloads_stars_archives_and_deletes(
    new_context, server, generated_upload, lang, words, tmp_path
):
    marker = f"bodega{secrets.token_hex(4)}"
    note = f"Camioneta blanca frente a la {marker}, placas XYZ-123"
    new_editor = server.add_editor_soon(f"editor-{lang}-{secrets.token_hex(3)}")
    before = server.submission_folders()
    send_tip(new_context(lang, js=False).new_page(), lang, generated_upload, note)
    (submission_id,) = server.submission_folders() - before
    editor = new_editor()

    page = new_context(lang, viewport=DESKTOP, accept_downloads=True).new_page()
    sign_in(page, editor)
    assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]

    # Find it by searching the notes, as an editor would.
    page.locator("input[name=q]").fill(marker)
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(re.compile(rf"q={marker}"))
    rows = page.locator("table.submissions tbody tr")
    assert rows.count() == 1
    rows.locator(f"a[href$='/inbox/s/{submission_id}']").click()
    page.wait_for_url(f"**/inbox/s/{submission_id}")
    assert page.locator(".note").inner_text() == note

    # The photo shows as a thumbnail (decoded by the browser; a small photo is not enlarged).
    image = page.locator("img.thumbnail")
    assert image.get_attribute("src").endswith("/thumbnail")
    image.scroll_into_view_if_needed()
    image.evaluate("img => img.decode()")
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 240]

    # The video loads its metadata and plays.
    video = page.locator("video.player")
    video.scroll_into_view_if_needed()
    page.wait_for_function("v => v.readyState >= 1 || v.error", arg=video.element_handle())
    state = video.evaluate("v => ({error: v.error && v.error.code, ready: v.readyState})")
    assert state["error"] is None and state["ready"] >= 1, state
    assert video.evaluate("v => v.duration") == pytest.approx(1.0, abs=0.2)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0.1 || v.error", arg=video.element_handle())
    state = video.evaluate("v => ({error: v.error && v.error.code, ready: v.readyState})")
    assert state["error"] is None and state["ready"] >= 2, state  # frames were decoded

    # The photo downloads under a generated name, with no metadata left.
    with page.expect_download() as info:
        page.locator("ol.files > li").nth(0).locator("a[download]").last.click()
    download = info.value
    assert re.fullmatch(r"[\w-]+\.jpg", download.suggested_filename), download.suggested_filename
    assert "GPS" not in download.suggested_filename
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert leaks(saved) == []
    with Image.open(saved) as photo:
        assert photo.format == "JPEG" and photo.size == (320, 240)

    # Star: the page says so, and the starred view lists it.
    page.locator("form.actions button[value=star]").click()
    expect(page.locator("form.actions button[value=unstar]")).to_be_visible()
    expect(page.locator(".facts .badge.star")).to_have_text(words(lang, "Starred", "badge"))

    # Archive: gone from the inbox view, listed under Archived (and still starred).
    page.locator("form.actions button[value=archive]").click()
    page.wait_for_url(re.compile(r"/inbox/(\?.*)?$"))
    page.goto(f"/inbox/?view=inbox&q={marker}")
    assert page.locator(f"a[href$='/inbox/s/{submission_id}']").count() == 0
    _open_from_list(page, f"/inbox/?view=starred&q={marker}", submission_id)
    _open_from_list(page, f"/inbox/?view=archived&q={marker}", submission_id)
    badge = words(lang, "Archived", "badge")
    expect(page.locator(".facts .badge:not(.star)")).to_have_text(badge)
    expect(page.locator(".facts .badge.star")).to_be_visible()
    expect(page.locator("form.actions button[value=unarchive]")).to_be_visible()

    # Delete, with the confirmation step: the files leave the disk.
    page.locator("form.actions a.danger").click()
    page.locator("form.confirm button.danger").click()
    page.wait_for_url(re.compile(r"/inbox/(\?.*)?$"))
    expect(page.locator(".flash[role=status]")).to_have_text(
        words(lang, "The submission was deleted.")
    )
    assert page.locator(f"a[href$='/inbox/s/{submission_id}']").count() == 0
    assert submission_id not in server.submission_folders()
    assert page.goto(f"/inbox/s/{submission_id}").status == 404

    # The audit log names the deletion.
    page.goto("/inbox/audit")
    row = page.locator("table.audit tbody tr", has=page.locator(f"code:text-is('{submission_id}')"))
    assert row.count() >= 1
    assert editor.name in row.first.inner_text()
