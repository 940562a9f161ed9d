"""A tipster sends a note, two links, a GPS-tagged photo and a video from a phone-sized
browser, in Spanish and in English, with JavaScript off (as in Tor Browser's safest
setting) and on (the upload progress script), and reads the receipt.

What was filed is checked on disk with exiftool, the independent judge."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.browser.helpers import LANGUAGES, LiveServer, Upload, fill_tip, must_report
from tests.exiftool_oracle import leaks
from tests.public.helpers import HTML_LANG

pytestmark = pytest.mark.browser

PROGRESS_SCRIPT = "**/static/js/progress.js"


def _note(lang: str) -> str:
    return f"Camioneta blanca frente a la bodega ({lang}) {secrets.token_hex(4)}"


def _send(page: Page, lang: str, upload: Upload, note: str) -> Request:
    """Fill and send the form; the POST request that carried it, once the receipt shows."""
    page.goto(f"/{lang}/")
    fill_tip(page, upload, note)
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.locator("button.send").click()
    page.locator("ol.file-list").wait_for()
    return posted.value


def _check_receipt(page: Page, lang: str, words, upload: Upload) -> None:
    """The receipt, in ``lang``, lists the note, the links and both files, and for each
    file at least what exiftool finds in the original (GPS, camera, dates, ...)."""
    assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]
    assert page.locator("h1").inner_text() == words(lang, "Thank you. Your tip was received.")
    received = page.locator("ul.received > li")
    assert received.count() == 3  # the note, the links, the files
    files = page.locator("ol.file-list > li")
    assert files.count() == 2
    assert page.locator("ol.file-list > li.file.accepted").count() == 2, files.all_inner_texts()
    for item, original, kind in zip(
        files.all(), (upload.photo, upload.video), ("photo", "video"), strict=True
    ):
        assert f": {words(lang, kind)} (" in item.locator(".file-title").inner_text()
        shown = set(item.locator("ul.removed > li").all_inner_texts())
        expected = {words(lang, label) for label in must_report(original, kind)}
        assert expected, f"{original.name} should carry identifying metadata"
        assert expected <= shown, (original.name, expected - shown)


def _check_filed(server: LiveServer, before: set[str]) -> None:
    new = server.submission_folders() - before
    assert len(new) == 1, new
    stored = sorted((server.data_dir / "submissions" / new.pop()).iterdir())
    assert len(stored) == 3, stored  # the photo, its thumbnail and the video
    for path in stored:
        assert leaks(path) == [], path.name


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.proves("files-cleaned")
def test_send_a_tip_without_javascript(new_context, server, upload, lang, words):
    page = new_context(lang, js=False).new_page()
    before = server.submission_folders()
    request = _send(page, lang, upload, _note(lang))
    assert request.resource_type == "document"  # a plain form submission
    _check_receipt(page, lang, words, upload)
    _check_filed(server, before)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_send_a_tip_with_the_progress_script(new_context, server, upload, lang, words):
    page = new_context(lang).new_page()
    before = server.submission_folders()
    request = _send(page, lang, upload, _note(lang))
    assert request.resource_type == "xhr"  # sent by static/js/progress.js
    assert page.url == f"{server.url}/{lang}/"
    _check_receipt(page, lang, words, upload)
    _check_filed(server, before)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_form_works_when_the_script_fails_to_load(
    new_context, server, generated_upload, lang, words
):
    context: BrowserContext = new_context(lang)
    aborted = []
    context.route(PROGRESS_SCRIPT, lambda route: (aborted.append(1), route.abort()))
    page = context.new_page()
    before = server.submission_folders()
    request = _send(page, lang, generated_upload, _note(lang))
    assert aborted, "the script was requested and failed"
    assert request.resource_type == "document"
    _check_receipt(page, lang, words, generated_upload)
    _check_filed(server, before)


def _throttle_uploads(context: BrowserContext, page: Page, bytes_per_second: int) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


#: "1.0 MB of 2.1 MB (48%)" and, as Mexico writes it, "1.0 MB de 2.1 MB (48%)" (Spain
#: would write "1,0 MB" and "48 %"); a no-break space keeps each number with its unit
AMOUNT = {
    "en": re.compile(r"^(\d+\.\d)\u00a0MB of (\d+\.\d)\u00a0MB \((\d+)%\)$"),
    "es": re.compile(r"^(\d+\.\d)\u00a0MB de (\d+\.\d)\u00a0MB \((\d+)%\)$"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_progress_shows_bytes_sent_of_total_in_the_page_language(
    new_context, server, tmp_path, screenshots, lang, words
):
    # A 2 MB text file sent at 1.5 MB/s: long enough to watch the bar move.
    big = tmp_path / "testimonio.txt"
    line = "La camioneta blanca volvió a pasar frente a la bodega.\n"
    big.write_text(line * (2_000_000 // len(line)), encoding="utf-8")
    context = new_context(lang)
    page = context.new_page()
    page.goto(f"/{lang}/")
    _throttle_uploads(context, page, 1_500_000)
    page.locator("#note").fill(_note(lang))
    page.locator("#files").set_input_files(big)
    page.locator("button.send").click()

    page.wait_for_function(
        "() => { const p = document.querySelector('.upload-progress progress');"
        " return p && p.value > 0.05 && p.value < 0.9; }"
    )
    # Both read at once: the upload goes on meanwhile.
    amount, value = page.locator(".upload-progress").evaluate(
        "box => [box.querySelector('.upload-progress-amount').textContent,"
        " box.querySelector('progress').value]"
    )
    match = AMOUNT[lang].match(amount)
    assert match, amount
    sent, total, percent = (float(g) for g in match.groups())
    assert 2.0 <= total <= 2.2  # the file and the form's other fields, in MB
    assert 0 < sent < total
    assert abs(percent - round(value * 100)) <= 1
    assert page.locator("button.send").is_disabled()  # no second submission meanwhile
    page.locator(".upload-progress").screenshot(path=screenshots / f"progress-{lang}-phone.png")
    label = page.locator(".upload-progress progress").evaluate(
        "p => p.labels.length ? p.labels[0].textContent"
        " : document.getElementById(p.getAttribute('aria-labelledby')).textContent"
    )
    assert label == words(lang, "Sending your tip")

    page.locator("ol.file-list").wait_for()
    assert page.locator("ol.file-list > li.file.accepted").count() == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_network_failure_is_told_plainly_and_the_tip_can_be_sent_again(
    new_context, server, generated_upload, screenshots, lang, words
):
    context = new_context(lang)
    page = context.new_page()
    failing = {"on": True}

    def cut_the_connection(route):
        if route.request.method == "POST" and failing["on"]:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{server.url}/{lang}/", cut_the_connection)
    page.goto(f"/{lang}/")
    note = _note(lang)
    fill_tip(page, generated_upload, note)
    page.locator("button.send").click()

    message = page.locator(".upload-failed")
    message.wait_for()
    assert message.get_attribute("role") == "alert"
    assert message.inner_text() == words(
        lang,
        "The connection failed while sending. Your tip may not have been received. "
        "Check your connection and send it again.",
    )
    assert message.evaluate("m => document.activeElement === m")
    # Nothing the tipster entered was lost, and the button works again.
    assert page.locator("#note").input_value() == note
    assert page.locator("#files").evaluate("f => f.files.length") == 2
    assert page.locator("button.send").is_enabled()
    assert page.locator(".upload-progress").count() == 0
    page.screenshot(path=screenshots / f"network-failure-{lang}-phone.png")

    failing["on"] = False
    before = server.submission_folders()
    page.locator("button.send").click()
    page.locator("ol.file-list").wait_for()
    _check_receipt(page, lang, words, generated_upload)
    _check_filed(server, before)


@pytest.mark.parametrize("js", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_file_over_the_limit_gets_the_too_large_page(
    new_context, small_server, tmp_path, lang, js, words
):
    big = tmp_path / "clip.mp4"
    big.write_bytes(secrets.token_bytes(1_500_000))  # the limit is 1 MB per file
    page = new_context(lang, js=js, base_url=small_server.url).new_page()
    page.goto(f"/{lang}/")
    page.locator("#note").fill(_note(lang))
    page.locator("#files").set_input_files(big)
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.locator("button.send").click()
    expect(page.locator("h1")).to_have_text(words(lang, "Too large"))
    assert posted.value.resource_type == ("xhr" if js else "document")
    assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]
    assert small_server.submission_folders() == set()
