"""A conversation in real browsers, both sides: a tipster on a phone (JavaScript on
and off) sends a tip and keeps its phrase; an editor at a desk replies from the
submission's page; the tipster comes back typing the phrase carelessly, reads the
reply, deletes it, and sends a photo, which is cleaned and answered with a receipt;
the editor finds the new message with the list's filter and closes the conversation;
the tipster sees that it has ended and leaves. In both languages. The pages met only
here (a conversation with a reply, the editors' thread) are checked with axe and
saved as screenshots at phone and desktop size."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page

from portal.followup import words as phrase_words
from tests.browser.helpers import (
    DESKTOP,
    FOLLOWUP,
    LANGUAGES,
    PHONE,
    open_conversation,
    phrase_on_receipt,
    sign_in,
)
from tests.browser.test_accessibility import audit, unlabelled
from tests.exiftool_oracle import leaks
from tests.public.helpers import HTML_LANG

pytestmark = pytest.mark.browser


def carelessly(phrase: str) -> str:
    """The phrase as a hurried thumb types it: no accents, capitals, stray spaces."""
    folded = phrase_words.fold(phrase).split()
    return "  " + "   ".join(w.upper() if i % 2 else w.capitalize() for i, w in enumerate(folded))


def _screens(page: Page, screenshots: Path, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / f"{name}-phone.png", full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways: {width}px wide"
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshots / f"{name}-desktop.png", full_page=True)


@pytest.mark.parametrize("js", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_conversation_from_both_sides(
    new_context, server, generated_upload, screenshots, axe_source, words, lang, js, tmp_path
):
    marker = f"bodega{secrets.token_hex(4)}"
    new_editor = server.add_editor_soon(f"conv-{lang}-{secrets.token_hex(3)}")
    tipster = new_context(lang, js=js, viewport=PHONE).new_page()

    # The tip, and its phrase on the receipt.
    before = server.submission_folders()
    tipster.goto(f"/{lang}/")
    tipster.locator("#note").fill(f"Camioneta blanca frente a la {marker}")
    tipster.locator("button.send").click()
    tipster.locator("#phrase").wait_for()
    phrase = phrase_on_receipt(tipster)
    (submission_id,) = server.submission_folders() - before
    assert len(phrase.split()) == 8
    assert words(lang, "Your phrase to come back") in tipster.locator("#phrase-title").inner_text()

    # The editor replies from the submission's page.
    editor = new_context(lang, viewport=DESKTOP).new_page()
    sign_in(editor, new_editor())
    editor.goto(f"/inbox/s/{submission_id}")
    question = f"¿Tienes el video original? ({marker})"
    editor.locator("form.reply-form textarea").fill(question)
    editor.locator("form.reply-form button[type=submit]").click()
    editor.wait_for_url(re.compile(rf"/inbox/s/{submission_id}#conversation$"))
    entry = editor.locator("li.entry.from-editors")
    assert question in entry.inner_text()
    assert words(lang, "Not read by the sender yet.") in entry.inner_text()

    # The tipster comes back from the receipt's link, typing the phrase carelessly.
    tipster.locator(f".phrase-box a[href='{FOLLOWUP[lang]}']").click()
    tipster.locator("textarea#phrase").fill(carelessly(phrase))
    tipster.locator("form.phrase-form button[type=submit]").click()
    tipster.locator("li.reply").wait_for()
    assert tipster.url.endswith(FOLLOWUP[lang])  # no identifier in the address
    assert tipster.locator("html").get_attribute("lang") == HTML_LANG[lang]
    reply = tipster.locator("li.reply")
    assert question in reply.inner_text()
    assert words(lang, "New", "badge") in reply.inner_text()
    assert marker not in tipster.locator(".lead").inner_text()  # nothing sent is shown back
    assert f"frente a la {marker}" not in tipster.content()

    editor.reload()
    read = editor.locator("li.entry.from-editors").inner_text()
    assert words(lang, "Read by the sender.") in read

    # The tipster deletes the reply they have read.
    reply.locator("button").click()
    tipster.locator("#replies-title").wait_for()
    assert tipster.locator("li.reply").count() == 0
    assert words(lang, "The reply was deleted from this page.") in tipster.content()

    # ...and sends the original photo: cleaned, with a receipt, as a tip.
    tipster.locator("#note").fill(f"La foto original, {marker}")
    tipster.locator("#files").set_input_files(generated_upload.photo)
    tipster.locator("button.send").click()
    tipster.locator("ol.file-list").wait_for()
    receipt = tipster.locator("main").inner_text()
    assert words(lang, "Thank you. Your message was added to your conversation.") in receipt
    assert words(lang, "GPS location") in receipt
    tipster.locator(f"a[href='{FOLLOWUP[lang]}']").first.click()
    tipster.locator("#replies-title").wait_for()

    # The editor finds it with the filter, downloads the photo: exiftool finds nothing.
    editor.goto("/inbox/")
    editor.locator("input[name=has_new]").check()
    editor.locator("form.filters button[type=submit]").click()
    editor.wait_for_url(re.compile(r"has_new=1"))
    row = editor.locator(f"table.submissions a[href$='/inbox/s/{submission_id}']")
    assert row.count() == 1
    row.click()
    message = editor.locator("li.entry.from-sender")
    assert f"La foto original, {marker}" in message.inner_text()
    assert words(lang, "The sender read it and deleted it from their page.") in (
        editor.locator("li.entry.from-editors").inner_text()
    )
    link = message.locator("a[download]").first
    href = link.get_attribute("href")
    assert href
    response = editor.request.get(href)
    photo = tmp_path / "downloaded.jpg"
    photo.write_bytes(response.body())
    assert leaks(photo) == []

    # Pages met only in a conversation: axe, labels, phone and desktop screenshots.
    if js:
        checked = new_context(lang, viewport=PHONE, bypass_csp=True).new_page()
        open_conversation(checked, lang, phrase)
        editor.locator("form.reply-form textarea").fill("Gracias, ¿de qué calle?")
        editor.locator("form.reply-form button[type=submit]").click()
        editor.locator("li.entry.from-editors").nth(1).wait_for()
        checked.reload()
        checked.locator("li.reply").wait_for()
        assert audit(checked, axe_source, f"conversation-with-reply-{lang}") == []
        assert unlabelled(checked) == []
        _screens(checked, screenshots, f"conversation-with-reply-{lang}")
        staff = new_context(lang, viewport=DESKTOP, bypass_csp=True).new_page()
        sign_in(staff, server.add_editor(f"conv-axe-{lang}-{secrets.token_hex(3)}"))
        staff.goto(f"/inbox/s/{submission_id}")
        assert audit(staff, axe_source, f"inbox-thread-{lang}") == []
        assert unlabelled(staff) == []
        _screens(staff, screenshots, f"inbox-thread-{lang}")

    # The editor closes the conversation; the tipster sees it has ended, and leaves.
    editor.goto(f"/inbox/s/{submission_id}")
    editor.locator(f"form[action$='/inbox/s/{submission_id}/close'] button").click()
    editor.wait_for_url(re.compile(r"#conversation$"))
    tipster.reload()
    ended = words(
        lang,
        "The editors have ended this conversation. You can still read their replies, but "
        "you cannot send anything more here. If you have something new, send a new tip.",
    )
    assert ended in tipster.locator("#closed").inner_text()
    assert tipster.locator("#note").count() == 0
    tipster.locator("form.leave button").click()
    tipster.locator("textarea#phrase").wait_for()
    assert words(lang, "You left your conversation. To come back, type your phrase again.") in (
        tipster.content()
    )
    tipster.goto(FOLLOWUP[lang])
    assert tipster.locator("textarea#phrase").count() == 1  # the phrase is needed again
