"""What the browser tests share: the live server and its editors, the files to
upload, and the steps of filling and sending the tip form and signing in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page

from tests.exiftool_oracle import read_tags

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "es")
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
EDITOR_PASSWORD = "browser test passphrase, long enough"


def running_in_ci(environ: dict[str, str] | None = None) -> bool:
    """Whether this is a CI run: ``CI`` set to true, as CI services and .ci/run do."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() in {"1", "true", "yes"}


def require_chromium(path: Path, environ: dict[str, str] | None = None) -> None:
    """Skip the browser tests, saying why, when Chromium is not at ``path`` on a
    developer's machine; fail them in CI, where a skipped browser suite would pass a
    run that checked no page in a browser."""
    if path.exists():
        return
    message = f"{path} is missing: .ci/run installs Debian's chromium package"
    if running_in_ci(environ):
        pytest.fail(f"{message} (CI=true: the browser tests must run)")
    pytest.skip(f"{message}; browser tests skip without it here, and fail in CI (CI=true)")


@dataclass
class EditorLogin:
    name: str
    password: str
    secret: str

    def code(self) -> str:
        return pyotp.TOTP(self.secret).now()


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    log: Path
    recovery_key: str = ""

    def flask(self, *args: str, stdin: str = "") -> str:
        """Run ``flask --app app ARGS`` on the server's data folder; its output."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def create_inbox(self) -> None:
        """The first editor, as an administrator makes one: it creates the inbox key
        (tips can be filed from then on); the printed recovery key is kept here."""
        out = self.flask("editor", "add", "first", stdin=f"{EDITOR_PASSWORD}\n{EDITOR_PASSWORD}\n")
        match = re.search(r"^    (AGE-SECRET-KEY-1[0-9A-Z]+)$", out, re.MULTILINE)
        assert match, out
        self.recovery_key = match.group(1)

    def add_editor(self, name: str) -> EditorLogin:
        """A new editor, created as an administrator would: ``flask editor add`` with
        the recovery key, the password and its confirmation on stdin. Each sign-in
        needs a fresh account, because a TOTP code can be used once."""
        out = self.flask(
            "editor", "add", name, "--recovery-key",
            stdin=f"{self.recovery_key}\n{EDITOR_PASSWORD}\n{EDITOR_PASSWORD}\n",
        )  # fmt: skip
        match = re.search(r"^TOTP secret: ([A-Z2-7]+)$", out, re.MULTILINE)
        assert match, out
        return EditorLogin(name, EDITOR_PASSWORD, match.group(1))

    def add_editor_soon(self, name: str) -> Callable[[], EditorLogin]:
        """Start :meth:`add_editor` in the background (it takes seconds: a Python
        start and a memory-hard password hash); call the result to wait for it."""
        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(self.add_editor, name)
        pool.shutdown(wait=False)
        return future.result

    def submission_folders(self) -> set[str]:
        folder = self.data_dir / "submissions"
        return {p.name for p in folder.iterdir()} if folder.exists() else set()


@dataclass(frozen=True)
class Upload:
    photo: Path
    video: Path


def fill_tip(page: Page, upload: Upload | None, note: str) -> None:
    """Fill the open tip form: a note, two links, and the upload's photo and video."""
    page.locator("#note").fill(note)
    page.locator("#links").fill("https://example.org/video/123\nhttps://example.net/post?id=9")
    if upload is not None:
        page.locator("#files").set_input_files([upload.photo, upload.video])


def send_tip(page: Page, lang: str, upload: Upload | None, note: str) -> None:
    """Open the form in ``lang``, fill it and send it; returns on the receipt."""
    page.goto(f"/{lang}/")
    fill_tip(page, upload, note)
    page.locator("button.send").click()
    page.wait_for_selector("ol.file-list, .received")


def sign_in(page: Page, editor: EditorLogin) -> None:
    page.goto("/inbox/")
    assert "/inbox/login" in page.url
    page.locator("#name").fill(editor.name)
    page.locator("#password").fill(editor.password)
    page.locator("#code").fill(editor.code())
    page.locator("form.sign-in button[type=submit]").click()
    page.wait_for_url(re.compile(r"/inbox/(\?.*)?$"))


#: the public pages a tipster can meet, for the phone, screenshot and axe tests
PUBLIC_PAGES = (
    "form",
    "form-errors",
    "receipt",
    "not-found",
    "expired-form",
    "too-large",
    "safety",
    "follow-up",
    "follow-up-wrong",
    "follow-up-busy",
    "conversation",
    "conversation-receipt",
    "phrase-off",
)
#: each language's conversation page
FOLLOWUP = {"en": "/en/follow-up", "es": "/es/seguimiento"}


def phrase_on_receipt(page: Page) -> str:
    """The follow-up phrase the open receipt shows."""
    return page.locator("#phrase").inner_text().strip()


def tip_with_phrase(
    page: Page, lang: str, note: str = "Camioneta blanca frente a la bodega"
) -> str:
    """Send a short tip through the form; the phrase its receipt gives."""
    page.goto(f"/{lang}/")
    page.locator("#note").fill(note)
    page.locator("button.send").click()
    page.locator("#phrase").wait_for()
    return phrase_on_receipt(page)


def type_phrase(page: Page, lang: str, phrase: str) -> None:
    """Open the conversation page and type ``phrase`` (the answer is left open)."""
    page.goto(FOLLOWUP[lang])
    page.locator("#phrase").fill(phrase)
    page.locator("form.phrase-form button[type=submit]").click()
    page.wait_for_load_state()


def open_conversation(page: Page, lang: str, phrase: str) -> None:
    type_phrase(page, lang, phrase)
    page.locator("#replies-title").wait_for()


@dataclass(frozen=True)
class PublicPageFiles:
    """What the public pages are reached with: the upload and a file the portal
    refuses (for the receipt), and a file over the limit of a server at ``small_url``
    that takes at most 1 MB per file (for the "too large" page)."""

    upload: Upload
    refused: Path
    too_large: Path
    small_url: str
    #: the default server's data folder (its phrase-check slots are held for the 429)
    data_dir: Path


def open_public_page(page: Page, name: str, lang: str, files: PublicPageFiles) -> None:
    """Bring ``page`` to one of :data:`PUBLIC_PAGES` in ``lang``, as a tipster would
    (with the page's JavaScript on or off, as its context says)."""
    if name == "form":
        page.goto(f"/{lang}/")
    elif name == "form-errors":
        page.goto(f"/{lang}/")
        page.locator("#links").fill("not a link\nhttps://example.org/ok")
        page.locator("button.send").click()
        page.locator("#error-summary").wait_for()
    elif name == "receipt":
        page.goto(f"/{lang}/")
        fill_tip(page, None, "Camioneta blanca frente a la bodega, placas XYZ-123")
        page.locator("#files").set_input_files(
            [files.upload.photo, files.upload.video, files.refused]
        )
        page.locator("button.send").click()
        page.locator("ol.file-list").wait_for()
    elif name == "not-found":
        response = page.goto(f"/{lang}/no-such-page")
        assert response is not None and response.status == 404
    elif name == "expired-form":
        # A form whose CSRF token is gone, as after hours open or sent from elsewhere.
        page.goto(f"/{lang}/")
        page.locator("#note").fill("Camioneta blanca frente a la bodega")
        page.locator("input[name=csrf_token]").evaluate("field => field.remove()")
        _send_expecting(page, 400)
    elif name == "safety":
        # The guide, reached the way a tipster reaches it: from the form.
        page.goto(f"/{lang}/")
        page.locator(".guide-link a").click()
        page.locator("#what-we-keep").wait_for()
    elif name == "follow-up":
        # Reached as a tipster comes back: from the form's link.
        page.goto(f"/{lang}/")
        page.locator(".followup-link a").click()
        page.locator("#phrase").wait_for()
    elif name == "follow-up-wrong":
        type_phrase(page, lang, "abeja " * 7)
        page.locator("#error-summary").wait_for()
    elif name == "follow-up-busy":
        from portal.followup.slots import Slots

        phrase = tip_with_phrase(page, lang)
        slots = Slots(files.data_dir / "phrase-slots", 2)  # the server's default bound
        with slots.hold(), slots.hold():
            page.goto(FOLLOWUP[lang])
            page.locator("#phrase").fill(phrase)
            _send_expecting(page, 429, "form.phrase-form")
    elif name == "conversation":
        open_conversation(page, lang, tip_with_phrase(page, lang))
    elif name == "conversation-receipt":
        open_conversation(page, lang, tip_with_phrase(page, lang))
        page.locator("#note").fill("La placa completa es XYZ-123-A")
        page.locator("#files").set_input_files([files.upload.photo, files.refused])
        page.locator("button.send").click()
        page.locator("ol.file-list").wait_for()
    elif name == "phrase-off":
        tip_with_phrase(page, lang)
        page.locator("form.decline button").click()
        page.locator("h1").wait_for()
        page.wait_for_url(f"**{FOLLOWUP[lang]}")
    elif name == "too-large":
        page.goto(f"{files.small_url}/{lang}/")
        page.locator("#note").fill("Camioneta blanca frente a la bodega")
        page.locator("#files").set_input_files(files.too_large)
        _send_expecting(page, 413)
    else:
        raise ValueError(name)


def _send_expecting(page: Page, status: int, form: str = "form.tip-form") -> None:
    """Send the open form and wait until the answer, with ``status``, replaces it."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator(f"{form} button[type=submit]").first.click()
    assert answer.value.status == status
    page.locator(form).wait_for(state="detached")
    page.wait_for_load_state()


#: What a receipt must list for a file, judged from the original by exiftool rather
#: than by the cleaner: (the English label, the tags that call for it). A tag counts
#: when it is outside exiftool's own groups and its value is not blank or a zero date.
_MUST_REPORT: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GPS location", re.compile(r"^GPS:|:GPS\w*$|:Location\w*$")),
    ("camera or phone make and model", re.compile(r":(Make|Model)$")),
    ("dates", re.compile(r":(DateTimeOriginal|\w*CreateDate|ModifyDate)$")),
    ("author or owner name", re.compile(r":(Artist|Author|OwnerName)$")),
    ("comments, titles and descriptions", re.compile(r":(\w*Comment|ImageDescription|Title)$")),
    ("editing software", re.compile(r":(Software|Encoder)$")),
    ("embedded thumbnail or preview", re.compile(r":(ThumbnailImage|PreviewImage)$")),
    ("the manufacturer's private data", re.compile(r"^(MakerNotes|Nikon|Canon|Apple|Sony)\w*:")),
)  # fmt: skip
_OWN_GROUPS = ("ExifTool:", "System:", "File:", "Composite:")


#: how the receipt names dates, for each kind of file
_DATES = {
    "photo": "dates, such as when the photo was taken",
    "video": "dates, such as when the video was recorded",
}


def must_report(original: Path, kind: str) -> set[str]:
    """The removal labels (English) a receipt must show for ``original``, a ``kind``
    ("photo", "video") of file, from the identifying tags exiftool finds in it."""
    labels = set()
    for key, value in read_tags(original).items():
        text = str(value).strip()
        if key.startswith(_OWN_GROUPS) or not text or re.fullmatch(r"[0: ]+", text):
            continue
        labels.update(label for label, tags in _MUST_REPORT if tags.search(key))
    return {_DATES[kind] if label == "dates" else label for label in labels}
