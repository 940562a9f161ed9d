"""The receipt, and the inbox, show everything the cleaner removed: for every file of
the shared corpus and of a set of generated files, in both languages, the list under
a file is exactly the plain-words labels of ``Cleaned.removed`` for that file, no more,
no fewer.

What the cleaner removed is recorded as filing cleans each upload (a spy on the
cleaner filing calls), so the receipt is compared with the very result it was made
from; the labels are those of :mod:`portal.labels`, which tests/test_labels.py checks
are distinct and translated.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import select

from portal.cleaning import Category, Cleaned, Refusal
from portal.labels import category_label
from portal.models import Submission, db
from portal.public import filing
from tests.apps import MakeApp
from tests.cleaning import docgen, imagegen, mediagen
from tests.corpus import CORPUS_DIR, corpus_available, corpus_files
from tests.inbox.helpers import Clock, add_editor, sign_in
from tests.public.helpers import post_tip

LANGUAGES = ["es", "en"]


# --- reading the lists off the pages --------------------------------------------------


@dataclass
class ListedFile:
    """One file as a page lists it: accepted or not, and the labels under it."""

    classes: set[str]
    removed: list[str] = field(default_factory=list)


#: elements that have no end tag
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip


class _FileLists(HTMLParser):
    """Each ``<li class="file ...">`` of a page, with the items of its
    ``<ul class="removed">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.files: list[ListedFile] = []
        self._stack: list[str] = []  # open tags, each as "tag.class class"
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "li" and "file" in classes:
            self.files.append(ListedFile(classes))
        elif tag == "li" and self._stack and self._stack[-1] == "ul.removed":
            self._text = []
        if tag not in _VOID:
            self._stack.append(f"{tag}.{' '.join(sorted(classes))}")

    def handle_endtag(self, tag: str) -> None:
        opened = self._stack.pop()
        assert opened.split(".")[0] == tag, f"</{tag}> closes <{opened}>"
        if tag == "li" and self._text is not None:
            self.files[-1].removed.append(" ".join("".join(self._text).split()))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def listed_files(page: str) -> list[ListedFile]:
    parser = _FileLists()
    parser.feed(page)
    parser.close()
    return parser.files


# --- what the cleaner said --------------------------------------------------------------


@pytest.fixture
def cleaner_results(monkeypatch: pytest.MonkeyPatch) -> list[Cleaned | Refusal]:
    """What the cleaner returned (or raised) for each upload filing cleaned, in order."""
    seen: list[Cleaned | Refusal] = []
    real = filing.clean_file

    def recording(*args, **kwargs) -> Cleaned:
        try:
            result = real(*args, **kwargs)
        except Refusal as refusal:
            seen.append(refusal)
            raise
        seen.append(result)
        return result

    monkeypatch.setattr(filing, "clean_file", recording)
    return seen


def labels(app: Flask, result: Cleaned, lang: str) -> list[str]:
    """The plain words for what ``result`` removed, in ``lang`` and for its kind of
    file (dates are named for it), sorted (a page's order is its own)."""
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return sorted(str(category_label(c, result.kind)) for c in result.removed)


# --- the check --------------------------------------------------------------------------


def check_receipt_and_inbox(
    app: Flask, files: list[tuple[bytes, str]], results: list, lang: str
) -> set[Category]:
    """Send ``files`` in one tip in ``lang``; the receipt, and the submission's page in
    the inbox in the same language, list under each file exactly the labels of what
    the cleaner removed from it. Returns every category removed."""
    client = app.test_client()
    response = post_tip(client, lang, note="todo", files=files)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert len(results) == len(files)
    on_receipt = listed_files(response.get_data(as_text=True))
    assert len(on_receipt) == len(files)
    accepted = []
    for (_data, name), result, listed in zip(files, results, on_receipt, strict=True):
        if isinstance(result, Refusal):
            assert "refused" in listed.classes and listed.removed == [], name
            continue
        assert "accepted" in listed.classes, name
        assert sorted(listed.removed) == labels(app, result, lang), (name, lang)
        assert len(set(listed.removed)) == len(listed.removed), name
        accepted.append((name, result))

    editor = app.test_client()
    assert (
        sign_in(editor, add_editor(app, f"editor-{lang}", Clock(datetime.now(UTC)))).status_code
        == 302
    )
    assert editor.get(f"/inbox/language/{lang}").status_code == 302
    with app.app_context():
        (submission_id,) = db.session.scalars(select(Submission.id)).all()
    page = editor.get(f"/inbox/s/{submission_id}")
    assert page.status_code == 200
    in_inbox = listed_files(page.get_data(as_text=True))
    assert len(in_inbox) == len(accepted)
    for (name, result), listed in zip(accepted, in_inbox, strict=True):
        assert sorted(listed.removed) == labels(app, result, lang), (name, lang)
    return {category for _name, result in accepted for category in result.removed}


@pytest.fixture
def roomy_app(make_app: MakeApp) -> Flask:
    """Every file of a set in one tip."""
    return make_app(max_files=100)


# --- generated files -----------------------------------------------------------------


def _saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _maker_notes_jpeg() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x927C] = b"Nikon\x00\x02\x10\x00\x00private maker data"
    return _saved(imagegen.pattern(), "JPEG", exif=exif.tobytes())


def _tagged(folder: Path, name: str, data: bytes, *, jpeg_comment: bool = False) -> bytes:
    path = folder / name
    path.write_bytes(data)
    imagegen.tag_identifying(path, jpeg_comment=jpeg_comment)
    return path.read_bytes()


def generated_files(folder: Path) -> Iterator[tuple[bytes, str]]:
    """One or more files of every family, carrying between them every category."""
    exif, xmp = imagegen.identifying_exif(), imagegen.identifying_xmp()
    pattern = imagegen.pattern()
    yield _tagged(folder, "a.jpg", imagegen.jpeg_bytes(), jpeg_comment=True), "tagged.jpg"
    yield _maker_notes_jpeg(), "maker-notes.jpg"
    profile = imagegen.icc_profile_named("PhoneCorp Panel 7", creator=b"phco")
    yield imagegen.jpeg_bytes(icc_profile=profile), "device-profile.jpg"
    yield imagegen.jpeg_bytes() + b"hidden after the end", "tail.jpg"
    yield _tagged(folder, "a.png", _saved(pattern, "PNG")), "tagged.png"
    yield _saved(pattern.convert("P"), "GIF", comment=b"Jane Tipster"), "comment.gif"
    yield _saved(pattern, "WEBP", exif=exif, xmp=xmp), "tagged.webp"
    yield _tagged(folder, "a.tif", imagegen.tiff_bytes()), "tagged.tif"
    yield imagegen.heic_bytes(exif=exif, xmp=xmp), "tagged.heic"
    yield _saved(pattern, "AVIF", exif=exif, xmp=xmp), "tagged.avif"
    for kind, make in {
        "pdf": docgen.dirty_pdf,
        "docx": docgen.dirty_docx,
        "xlsx": docgen.dirty_xlsx,
        "pptx": docgen.dirty_pptx,
        "odt": docgen.dirty_odt,
    }.items():
        make(folder / f"dirty.{kind}")
        yield (folder / f"dirty.{kind}").read_bytes(), f"dirty.{kind}"
    for container in ("mp4", "mkv"):
        (folder / container).mkdir()
        yield mediagen.tagged_video(folder / container, container).read_bytes(), container
    for container in ("mp3", "flac", "ogg", "wav"):
        (folder / container).mkdir()
        yield mediagen.tagged_audio(folder / container, container).read_bytes(), container
    # A zero-width space, as a copy marked for its reader carries.
    yield "Vi camiones en el\u200b puente a las 3.\n".encode(), "note.txt"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[bytes, str]]:
    return list(generated_files(tmp_path_factory.mktemp("generated")))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_receipt_and_inbox_list_all_removed_from_generated_files(
    roomy_app, generated, cleaner_results, lang
):
    removed = check_receipt_and_inbox(roomy_app, generated, cleaner_results, lang)
    # Between them the files carry every category, so every label is checked.
    assert removed == set(Category)


# --- the shared corpus --------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.sqlite_only("the generated files' test above covers every label on both")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_receipt_and_inbox_list_all_removed_from_corpus_files(roomy_app, cleaner_results, lang):
    if not corpus_available():
        pytest.skip(f"shared corpus not found at {CORPUS_DIR} (a clone outside the workplace)")
    files = [((CORPUS_DIR / name).read_bytes(), name) for name in corpus_files()]
    check_receipt_and_inbox(roomy_app, files, cleaner_results, lang)
    assert len(cleaner_results) == len(files)
