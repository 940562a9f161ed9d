"""Fixtures for the real-browser tests: the portal served by ``flask run`` on loopback
from a temporary data folder, editors made with ``flask editor add``, Debian's Chromium
driven by Playwright, files to upload, axe-core, and a folder for screenshots.

One server and one browser serve the whole session (starting each costs seconds);
every test opens its own browser contexts, so no cookie or cache is shared.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.helpers import (
    PHONE,
    ROOT,
    LiveServer,
    PublicPageFiles,
    Upload,
    require_chromium,
)
from tests.cleaning import imagegen, mediagen
from tests.corpus import corpus_file

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the axe-core release the accessibility tests run; change it on purpose only
AXE_VERSION = "4.14.1"
#: its tarball's checksum as the registry publishes it (``npm view axe-core@VERSION
#: dist.integrity``): a changed file under the same version number is refused
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2r"
    "hu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
#: npm gives up by itself after about a minute (three tries); this is the backstop
NPM_SECONDS = 120
AXE_CACHE = ROOT / ".cache" / "axe-core"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SERVER_START_SECONDS = 30
#: where the test servers listen (any port): the only site a page may ask anything of
LOOPBACK = "http://127.0.0.1:"


# --- the server ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(base: Path, **settings: str) -> Iterator[LiveServer]:
    """``flask run`` on 127.0.0.1 (a free port), on a fresh data folder under
    ``base``, with extra ``PORTAL_*`` settings."""
    data_dir = base / "data"
    log = base / "server.log"
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    for name in list(env):
        if (name.startswith("PORTAL_") and name != "PORTAL_DATA_DIR") or name == "FLASK_DEBUG":
            del env[name]
    env.update(settings)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1",
             "--port", str(port), "--no-reload", "--no-debugger", "--with-threads"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_up(url, process, log)
        live = LiveServer(url, data_dir, env, log)
        live.create_inbox()
        yield live
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The portal with its default settings, for the whole session."""
    with running_server(tmp_path_factory.mktemp("browser-server")) as live:
        yield live


@pytest.fixture(scope="session")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The portal taking files of at most 1 MB, 3 MB in all."""
    with running_server(
        tmp_path_factory.mktemp("small-server"),
        PORTAL_MAX_FILE_SIZE="1000000",
        PORTAL_MAX_SUBMISSION_SIZE="3000000",
    ) as live:
        yield live


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the portal did not start:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/en/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"the portal did not answer in {SERVER_START_SECONDS} s")


# --- the browser --------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    require_chromium(CHROMIUM)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser, server: LiveServer) -> Iterator[NewContext]:
    """Open browser contexts for this test: ``new_context(lang, js=True, **options)``.
    Each has the language as Accept-Language and the server as base URL.

    Whatever the test does, its pages must ask nothing of any other site (no
    third-party resources), raise no script error and break no Content-Security-Policy
    rule: checked when the test ends."""
    opened: list[BrowserContext] = []
    problems: list[str] = []

    def make(lang: str = "en", *, js: bool = True, **options: object) -> BrowserContext:
        options.setdefault("viewport", PHONE)
        options.setdefault("base_url", server.url)
        context = browser.new_context(locale=lang, java_script_enabled=js, **options)
        context.set_default_timeout(15_000)
        context.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((LOOPBACK, "data:", "blob:"))
                else problems.append(f"a request to another site: {r.url}")
            ),
        )
        context.on("page", lambda page: _watch(page, problems))
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()
    assert problems == []


def _watch(page: Page, problems: list[str]) -> None:
    page.on("pageerror", lambda error: problems.append(f"a script error: {error}"))
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if "Content Security Policy" in m.text else None
        ),
    )


# --- words, as the page shows them ------------------------------------------------


@pytest.fixture(scope="session")
def words() -> Callable[..., str]:
    """``words(lang, msgid, context=None)``: a message as it appears in ``lang`` (from
    the catalogue; English is the source language); for a plural message, its
    singular; ``context`` is the message's msgctxt ("badge")."""
    catalogues = {}
    for path in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        with path.open("rb") as fh:
            catalogues[path.parts[-3]] = read_po(fh)

    def translate(lang: str, msgid: str, context: str | None = None) -> str:
        if lang == "en":
            return msgid
        message = catalogues[lang].get(msgid, context=context)
        assert message is not None and message.string, f"{msgid!r} is not translated to {lang}"
        if isinstance(message.string, tuple):
            return message.string[0]  # a plural message: the form for one
        return message.string

    return translate


# --- files to upload ----------------------------------------------------------------


@pytest.fixture(scope="session")
def generated_upload(tmp_path_factory: pytest.TempPathFactory) -> Upload:
    """A JPEG written by Pillow with camera make, model, artist, date and a GPS
    position in its EXIF, and a one-second MP4 with tags, a location and chapters."""
    folder = tmp_path_factory.mktemp("uploads")
    photo = folder / "IMG_20260301_GPS.jpg"
    imagegen.pattern((320, 240)).save(photo, "JPEG", exif=imagegen.identifying_exif())
    with Image.open(photo) as image:
        assert image.getexif().get_ifd(0x8825), "the photo carries a GPS position"
    return Upload(photo, mediagen.tagged_video(folder, "mp4"))


def corpus_upload() -> Upload:
    """The shared corpus' GPS-tagged Nikon photo and HandBrake-made MP4 (skips
    without the corpus)."""
    return Upload(corpus_file("ianare_gps_DSCN0010.jpg"), corpus_file("mat2_dirty.mp4"))


@pytest.fixture(scope="session")
def refused_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ZIP archive: the portal refuses archives, so the receipt shows a refusal."""
    path = tmp_path_factory.mktemp("refused") / "fotos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("nota.txt", "hola")
    return path


@pytest.fixture(scope="session")
def public_page_files(
    generated_upload: Upload, refused_file: Path, small_server: LiveServer,
    server: LiveServer, tmp_path_factory: pytest.TempPathFactory,
) -> PublicPageFiles:  # fmt: skip
    too_large = tmp_path_factory.mktemp("too-large") / "clip.mp4"
    too_large.write_bytes(os.urandom(1_500_000))  # small_server takes 1 MB per file
    return PublicPageFiles(
        generated_upload, refused_file, too_large, small_server.url, server.data_dir
    )


@pytest.fixture(params=["generated", "corpus"])
def upload(request: pytest.FixtureRequest) -> Upload:
    if request.param == "corpus":
        return corpus_upload()
    return request.getfixturevalue("generated_upload")


# --- axe-core and screenshots -------------------------------------------------------


def _npm_pack(spec: str, destination: Path) -> Path:
    """``npm pack SPEC`` into ``destination`` with its own empty npm cache; the tarball.
    Fails the tests with npm's own words, within about a minute, when the registry
    cannot be reached (npm's default is to keep retrying for minutes)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: .ci/run installs it to fetch axe-core")
    destination.mkdir(parents=True, exist_ok=True)
    command = [
        npm, "pack", spec, "--pack-destination", str(destination), "--json",
        "--cache", str(destination / "npm-cache"), "--ignore-scripts", "--no-audit",
        "--no-fund", "--fetch-timeout=15000", "--fetch-retries=2",
        "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=10000",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=NPM_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"`npm pack {spec}` did not finish in {NPM_SECONDS} s: is the npm registry reachable?"
        )
    if result.returncode != 0:
        pytest.fail(
            f"`npm pack {spec}` failed (exit {result.returncode}); the npm registry may be"
            f" unreachable. npm said:\n{result.stderr[-2000:]}"
        )
    (packed,) = json.loads(result.stdout)
    return destination / packed["filename"]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser bundle at the pinned version and checksum, fetched once with
    ``npm pack`` into a gitignored cache in the checkout."""
    script = AXE_CACHE / AXE_VERSION / "axe.min.js"
    if not script.exists():
        download = AXE_CACHE / "download"
        tarball = _npm_pack(f"axe-core@{AXE_VERSION}", download)
        digest = (
            "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        )
        if digest != AXE_INTEGRITY:
            pytest.fail(f"{tarball.name} is not the pinned axe-core: {digest} != {AXE_INTEGRITY}")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            data = member.read()
        script.parent.mkdir(parents=True, exist_ok=True)
        partial = script.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(script)
        shutil.rmtree(download)
    return script.read_text()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """test-artifacts/screenshots/, emptied at the start of the session."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
