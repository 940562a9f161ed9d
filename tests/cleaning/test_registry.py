"""The registry across all formats: files are judged by their bytes, hostile or unknown
content is refused with the right code, polyglots lose their hidden part, and a refusal
or a failing module never leaves anything on disk."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from portal.cleaning import registry
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.cleaning.registry import clean_bytes, clean_file, identify
from tests.cleaning.helpers import assert_no_secrets, make_gif, make_jpeg, make_png
from tests.exiftool_oracle import leaks


def only_entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """An input folder and an empty output folder, so stray files are easy to see."""
    src_dir, out_dir = tmp_path / "in", tmp_path / "out"
    src_dir.mkdir()
    out_dir.mkdir()
    return src_dir, out_dir


# --- bytes, never names -------------------------------------------------------------


def test_jpeg_named_pdf_is_cleaned_as_jpeg(dirs):
    src_dir, out_dir = dirs
    src = make_jpeg(src_dir / "report.pdf")
    out = out_dir / "clean.pdf"
    result = clean_file(src, out)
    assert (result.format, result.mime, result.kind) == ("JPEG", "image/jpeg", "image")
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    assert {Category.GPS, Category.MAKE_MODEL, Category.AUTHOR} <= result.removed
    assert leaks(out) == []
    assert_no_secrets(out.read_bytes())
    assert only_entries(out_dir) == {"clean.pdf"}


def test_png_named_jpg_is_cleaned_as_png(dirs):
    src_dir, out_dir = dirs
    src = make_png(src_dir / "photo.jpg")
    result = clean_file(src, out_dir / "x.jpg")
    assert (result.format, result.mime) == ("PNG", "image/png")
    assert (out_dir / "x.jpg").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_no_secrets((out_dir / "x.jpg").read_bytes())


# --- refusals, each with its reason ---------------------------------------------------


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "a plain archive, not an office document")
    return buf.getvalue()


def _tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"hello from a tar member\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


REFUSALS = {
    "empty": (b"", RefusalCode.EMPTY),
    "unknown bytes": (bytes(range(1, 256)) * 8, RefusalCode.UNKNOWN_TYPE),
    "elf": (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, RefusalCode.EXECUTABLE),
    "pe": (
        b"MZ\x90\x00\x03" + b"\x00" * 200 + b"This program cannot be run in DOS mode",
        RefusalCode.EXECUTABLE,
    ),
    "mach-o 64": (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 200, RefusalCode.EXECUTABLE),
    "mach-o 32 big-endian": (b"\xfe\xed\xfa\xce" + b"\x00" * 200, RefusalCode.EXECUTABLE),
    "mach-o fat": (b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + b"\x00" * 200, RefusalCode.EXECUTABLE),
    "shebang script": (b"#!/bin/sh\nrm -rf ~\n", RefusalCode.EXECUTABLE),
    "zip, not office": (_zip_bytes(), RefusalCode.ARCHIVE),
    "gzip": (gzip.compress(b"some text inside gzip\n" * 20), RefusalCode.ARCHIVE),
    "7z": (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 100, RefusalCode.ARCHIVE),
    "rar": (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 100, RefusalCode.ARCHIVE),
    "tar": (_tar_bytes(), RefusalCode.ARCHIVE),
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        RefusalCode.ACTIVE_CONTENT,
    ),
    "svg with xml declaration": (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        RefusalCode.ACTIVE_CONTENT,
    ),
    "html": (b"<!DOCTYPE html><html><body>hi</body></html>", RefusalCode.ACTIVE_CONTENT),
    "html with bom, spaces and capitals": (
        b"\xef\xbb\xbf  \n<HTML><BODY onload=x()>hi</BODY></HTML>",
        RefusalCode.ACTIVE_CONTENT,
    ),
    "xml": (b'<?xml version="1.0"?><note><to>editor</to></note>', RefusalCode.ACTIVE_CONTENT),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_with_reason_and_nothing_left(case, dirs):
    data, code = REFUSALS[case]
    src_dir, out_dir = dirs
    src = src_dir / "upload.jpg"  # a harmless-looking name changes nothing
    src.write_bytes(data)
    with pytest.raises(Refusal) as info:
        clean_file(src, out_dir / "out.jpg")
    assert info.value.code == code, info.value
    assert only_entries(out_dir) == set()
    assert only_entries(src_dir) == {"upload.jpg"}
    assert src.read_bytes() == data  # the input is never touched


# --- polyglots -----------------------------------------------------------------------

HTML_TAIL = b"<html><script>document.location='http://evil.example/'</script></html>"


@pytest.mark.parametrize(
    ("maker", "tail"),
    [
        (make_jpeg, _zip_bytes()),
        (make_jpeg, HTML_TAIL),
        (make_png, _zip_bytes()),
        (make_png, HTML_TAIL),
        (make_gif, _zip_bytes()),
        (make_gif, HTML_TAIL),
    ],
    ids=["jpeg+zip", "jpeg+html", "png+zip", "png+html", "gif+zip", "gif+html"],
)
def test_polyglot_loses_its_appended_part(maker, tail, dirs):
    """The image is cleaned, not refused, and what was appended is gone: the output is
    byte for byte the cleaned image without the tail, and the cleaner says it removed
    hidden data."""
    src_dir, out_dir = dirs
    plain = maker(src_dir / "plain")
    src = src_dir / "img"
    src.write_bytes(plain.read_bytes() + tail)
    result = clean_file(src, out_dir / "out")
    without_tail = clean_file(plain, out_dir / "plain-out")
    data = (out_dir / "out").read_bytes()
    assert data == (out_dir / "plain-out").read_bytes()
    assert Category.HIDDEN_DATA in result.removed
    assert Category.HIDDEN_DATA not in without_tail.removed
    assert tail not in data
    for marker in (b"PK\x03\x04", b"PK\x05\x06", b"notes.txt"):
        assert marker not in data, marker
    assert b"<html" not in data.lower()
    assert_no_secrets(data)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00<html><script>alert(1)</script></html>",
        b"GIF89a/*\x00\x00*/=alert(document.domain);//",
        b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>",
    ],
    ids=["pdf-header-html", "jpeg-header-html", "gif-header-javascript", "png-header-svg"],
)
def test_header_of_one_format_body_of_another_is_refused(data, dirs):
    src_dir, out_dir = dirs
    src = src_dir / "f"
    src.write_bytes(data)
    with pytest.raises(Refusal) as info:
        clean_file(src, out_dir / "out")
    assert info.value.code in {
        RefusalCode.MALFORMED,
        RefusalCode.ACTIVE_CONTENT,
        RefusalCode.UNKNOWN_TYPE,
        RefusalCode.CLEANING_FAILED,
    }
    assert only_entries(out_dir) == set()


# --- nesting ---------------------------------------------------------------------------


def test_depth_beyond_the_limit_is_refused(dirs):
    src_dir, out_dir = dirs
    src = make_jpeg(src_dir / "a.jpg")
    limits = Limits(max_depth=2)
    with pytest.raises(Refusal) as info:
        clean_file(src, out_dir / "o.jpg", limits, depth=3)
    assert info.value.code == RefusalCode.TOO_LARGE
    # at the limit itself it still cleans
    clean_file(src, out_dir / "o.jpg", limits, depth=2)
    assert only_entries(out_dir) == {"o.jpg"}


def test_clean_bytes_refuses_too_deep_and_cleans_up(tmp_path):
    data = make_jpeg(tmp_path / "a.jpg").read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(Refusal) as info:
        clean_bytes(data, work, Limits(max_depth=1), depth=2)
    assert info.value.code == RefusalCode.TOO_LARGE
    assert only_entries(work) == set()
    cleaned, result = clean_bytes(data, work, Limits(max_depth=1), depth=1)
    assert result.format == "JPEG"
    assert_no_secrets(cleaned)
    assert only_entries(work) == set()


def _docx_with_image(jpeg: bytes) -> bytes:
    ct = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="jpeg" ContentType="image/jpeg"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    doc_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/image" Target="media/image1.jpeg"/></Relationships>'
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Nested image test</w:t></w:r></w:p></w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("word/document.xml", document)
        zf.writestr("word/_rels/document.xml.rels", doc_rels)
        zf.writestr("word/media/image1.jpeg", jpeg)
    return buf.getvalue()


def test_image_inside_a_document_is_cleaned_one_level_down(dirs):
    """Office documents hand their pictures to the registry at depth + 1: with no
    nesting allowed the document is refused, with the default it is cleaned and the
    picture inside carries nothing."""
    src_dir, out_dir = dirs
    jpeg = make_jpeg(src_dir / "p.jpg").read_bytes()
    src = src_dir / "doc.docx"
    src.write_bytes(_docx_with_image(jpeg))
    with pytest.raises(Refusal) as info:
        clean_file(src, out_dir / "o.docx", Limits(max_depth=0))
    assert info.value.code in {RefusalCode.TOO_LARGE, RefusalCode.CLEANING_FAILED}
    assert only_entries(out_dir) == set()

    result = clean_file(src, out_dir / "o.docx")
    assert result.kind == "document"
    with zipfile.ZipFile(out_dir / "o.docx") as zf:
        images = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert images, "the picture was dropped instead of cleaned"
        for name in images:
            assert_no_secrets(zf.read(name))


# --- failing or careless modules -------------------------------------------------------


class FakeCleaner(FormatCleaner):
    """A family recognising files that start with FAKE; its ``clean`` is swapped per test.
    ``inspect`` reports GPS when the bytes contain "GPS=", like a real module would."""

    family = "fake"

    def sniff(self, head, path):
        return head.startswith(b"FAKE")

    def inspect(self, src, limits):
        return {Category.GPS} if b"GPS=" in Path(src).read_bytes() else set()

    def clean(self, src, dst, limits, depth):
        Path(dst).write_bytes(b"FAKE clean")
        return Cleaned("text", "FAKE", "text/plain", "txt", frozenset({Category.GPS}))


@pytest.fixture
def fake(monkeypatch) -> FakeCleaner:
    cleaner = FakeCleaner()
    monkeypatch.setattr(registry, "CLEANERS", (cleaner, *registry.CLEANERS))
    return cleaner


def _fake_input(src_dir: Path) -> Path:
    src = src_dir / "f.fake"
    src.write_bytes(b"FAKE GPS=25.68,-100.31")
    return src


def test_fake_family_cleans_normally(fake, dirs):
    src_dir, out_dir = dirs
    result = clean_file(_fake_input(src_dir), out_dir / "o")
    assert result.format == "FAKE"
    assert (out_dir / "o").read_bytes() == b"FAKE clean"
    assert only_entries(out_dir) == {"o"}


@pytest.mark.parametrize("error", [ValueError, KeyError, IndexError, OSError, AssertionError])
def test_unexpected_exception_becomes_cleaning_failed(error, fake, monkeypatch, dirs):
    src_dir, out_dir = dirs

    def broken(src, dst, limits, depth):
        Path(dst).write_bytes(b"FAKE half written")  # a partial .part file
        raise error("boom")

    monkeypatch.setattr(fake, "clean", broken)
    with pytest.raises(Refusal) as info:
        clean_file(_fake_input(src_dir), out_dir / "o")
    assert info.value.code == RefusalCode.CLEANING_FAILED
    assert only_entries(out_dir) == set()


def test_module_refusal_keeps_its_code_and_leaves_nothing(fake, monkeypatch, dirs):
    src_dir, out_dir = dirs

    def refuse(src, dst, limits, depth):
        Path(dst).write_bytes(b"FAKE partial")
        raise Refusal(RefusalCode.ENCRYPTED, "test")

    monkeypatch.setattr(fake, "clean", refuse)
    with pytest.raises(Refusal) as info:
        clean_file(_fake_input(src_dir), out_dir / "o")
    assert info.value.code == RefusalCode.ENCRYPTED
    assert only_entries(out_dir) == set()


def test_module_that_copies_its_input_is_caught_by_reinspection(fake, monkeypatch, dirs):
    src_dir, out_dir = dirs

    def lazy(src, dst, limits, depth):
        shutil.copyfile(src, dst)
        return Cleaned("text", "FAKE", "text/plain", "txt", frozenset({Category.GPS}))

    monkeypatch.setattr(fake, "clean", lazy)
    with pytest.raises(Refusal) as info:
        clean_file(_fake_input(src_dir), out_dir / "o")
    assert info.value.code == RefusalCode.CLEANING_FAILED
    assert "gps" in info.value.detail
    assert only_entries(out_dir) == set()


@pytest.mark.parametrize("output", [b"", b"\x00\x01 not recognisable by any module"])
def test_module_writing_nothing_or_garbage_is_refused(output, fake, monkeypatch, dirs):
    src_dir, out_dir = dirs

    def bad(src, dst, limits, depth):
        Path(dst).write_bytes(output)
        return Cleaned("text", "FAKE", "text/plain", "txt")

    monkeypatch.setattr(fake, "clean", bad)
    with pytest.raises(Refusal) as info:
        clean_file(_fake_input(src_dir), out_dir / "o")
    assert info.value.code == RefusalCode.CLEANING_FAILED
    assert only_entries(out_dir) == set()


def test_existing_destination_survives_a_refusal(fake, monkeypatch, dirs):
    """clean_file replaces dst only on success: a refusal leaves an earlier file as is."""
    src_dir, out_dir = dirs
    (out_dir / "o").write_bytes(b"earlier")
    monkeypatch.setattr(fake, "clean", lambda *a: (_ for _ in ()).throw(ValueError("x")))
    with pytest.raises(Refusal):
        clean_file(_fake_input(src_dir), out_dir / "o")
    assert only_entries(out_dir) == {"o"}
    assert (out_dir / "o").read_bytes() == b"earlier"


# --- the same checks against a real module -------------------------------------------


def test_real_module_crash_becomes_cleaning_failed(monkeypatch, dirs):
    src_dir, out_dir = dirs
    src = make_jpeg(src_dir / "a.jpg")
    cleaner = identify(src)
    assert cleaner.family == "jpeg"

    def crash(src, dst, limits, depth):
        Path(dst).write_bytes(b"\xff\xd8\xff")
        raise KeyError("unexpected")

    monkeypatch.setattr(cleaner, "clean", crash)
    with pytest.raises(Refusal) as info:
        clean_file(src, out_dir / "o.jpg")
    assert info.value.code == RefusalCode.CLEANING_FAILED
    assert only_entries(out_dir) == set()


def test_real_module_leaving_metadata_is_refused(monkeypatch, dirs):
    src_dir, out_dir = dirs
    src = make_jpeg(src_dir / "a.jpg")
    cleaner = identify(src)
    assert Category.GPS in cleaner.inspect(src, Limits())

    def copy(src, dst, limits, depth):
        shutil.copyfile(src, dst)
        return Cleaned("image", "JPEG", "image/jpeg", "jpg", frozenset())

    monkeypatch.setattr(cleaner, "clean", copy)
    with pytest.raises(Refusal) as info:
        clean_file(src, out_dir / "o.jpg")
    assert info.value.code == RefusalCode.CLEANING_FAILED
    assert only_entries(out_dir) == set()


def test_no_stray_files_in_the_temp_dir(monkeypatch, tmp_path):
    """Cleaning and refusing leave nothing in the system temp folder."""
    import tempfile

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    src = make_jpeg(tmp_path / "a.jpg")
    clean_file(src, tmp_path / "o.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(src.read_bytes()[:200])
    with pytest.raises(Refusal):
        clean_file(bad, tmp_path / "o2.jpg")
    assert os.listdir(private) == []


# --- durability: fsync once, by whoever keeps the file ------------------------------


@pytest.fixture
def fsynced(monkeypatch) -> list[str]:
    """The paths os.fsync is called on from now on."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced


def test_clean_file_is_durable_by_default(dirs, fsynced):
    """``flask scrub`` keeps its own durability: the file, then its folder."""
    src_dir, out_dir = dirs
    clean_file(make_jpeg(src_dir / "a.jpg"), out_dir / "o.jpg")
    assert len(fsynced) == 2
    assert Path(fsynced[0]).parent == out_dir and Path(fsynced[0]).name.endswith(".part")
    assert Path(fsynced[1]) == out_dir


def test_clean_file_leaves_durability_to_a_caller_that_asks(dirs, fsynced):
    src_dir, out_dir = dirs
    clean_file(make_jpeg(src_dir / "a.jpg"), out_dir / "o.jpg", durable=False)
    assert (out_dir / "o.jpg").is_file()
    assert fsynced == []


def test_a_nested_file_is_never_fsynced(tmp_path, fsynced):
    """A file inside a document is read back and deleted: syncing it is waste."""
    data = make_jpeg(tmp_path / "a.jpg").read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    cleaned, _result = clean_bytes(data, work, Limits(), 1)
    assert cleaned.startswith(b"\xff\xd8")
    assert fsynced == []


# --- start-up: sniffing needs no heavy library ----------------------------------

_SNIFF_AND_REPORT = """
import json, sys
from pathlib import Path
from portal.cleaning import registry
families = [registry.identify(Path(p)).family for p in sys.argv[1:]]
loaded = lambda: sorted(m for m in registry.DEFERRED_MODULES + ("av", "pikepdf", "lxml")
                        if m in sys.modules)
before = loaded()
registry.load_all()
print(json.dumps({"families": families, "before": before, "after": loaded()}))
"""


def test_sniffing_imports_no_heavy_library(tmp_path):
    """Importing the registry and recognising one file of each family loads neither
    PyAV, pikepdf, pillow-heif nor lxml; load_all() loads them all."""
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    files = {
        "jpeg": make_jpeg(tmp_path / "a"),
        "heif": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
        "video": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64),
        "audio": b"OggS" + bytes(64),
        "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(64),
        "office": docx.getvalue(),
    }
    paths = []
    for family, data in files.items():
        path = data if isinstance(data, Path) else tmp_path / family
        if not isinstance(data, Path):
            path.write_bytes(data)
        paths.append(str(path))
    out = subprocess.run(
        [sys.executable, "-c", _SNIFF_AND_REPORT, *paths],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    report = json.loads(out)
    assert report["families"] == list(files)
    assert report["before"] == []
    assert report["after"] == sorted([*registry.DEFERRED_MODULES, "av", "pikepdf", "lxml"])
