"""The PDF cleaner: a full rewrite without any earlier revision, document or object
metadata, attachments, scripts or annotation authors, with the pages unchanged."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pikepdf
import pytest

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.pdf import CLEANER, STATIC_ID
from tests.cleaning import docgen
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks


def every_byte(path: Path) -> bytes:
    """The file's bytes followed by every stream, decoded as far as qpdf can."""
    parts = [path.read_bytes()]
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    parts.append(obj.read_bytes())
                except pikepdf.PdfError:
                    parts.append(obj.read_raw_bytes())  # images: their file bytes
    return b"\n".join(parts)


def assert_absent(values, path: Path) -> None:
    data = every_byte(path)
    for value in values:
        for encoding in ("utf-8", "utf-16-be"):
            assert value.encode(encoding) not in data, value


def page_contents(path: Path) -> list[bytes]:
    with pikepdf.open(path) as pdf:
        out = []
        for page in pdf.pages:
            contents = page.obj.get("/Contents")
            streams = contents if isinstance(contents, pikepdf.Array) else [contents]
            out.append(b"".join(s.read_bytes() for s in streams if s is not None))
        return out


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    path = tmp_path / "dirty.pdf"
    docgen.dirty_pdf(path)
    docgen.append_incremental_update(path)
    return path


def test_generated_pdf_is_cleaned_and_keeps_its_page(dirty: Path, tmp_path: Path) -> None:
    found = CLEANER.inspect(dirty, Limits())
    assert {Category.AUTHOR, Category.XMP, Category.REVISIONS, Category.EMBEDDED} <= found
    out = tmp_path / "clean.pdf"
    result = clean_file(dirty, out)
    assert (result.kind, result.format, result.extension) == ("document", "PDF", "pdf")
    assert {Category.AUTHOR, Category.XMP, Category.GPS, Category.DATES} <= result.removed
    assert leaks(out) == []
    assert_absent(docgen.SECRETS, out)
    assert page_contents(out) == page_contents(dirty)
    assert docgen.BODY.encode() in page_contents(out)[0]
    with pikepdf.open(out) as pdf:
        assert "/Info" not in pdf.trailer
        assert [bytes(i) for i in pdf.trailer.ID] == [STATIC_ID, STATIC_ID]
        annots = list(pdf.pages[0].Annots)
        assert [str(a.Subtype) for a in annots] == ["/Text", "/Link"]
        assert str(annots[0].Contents) == docgen.NOTE  # the note's text is content
        assert "/T" not in annots[0] and "/M" not in annots[0]
        assert str(annots[1].A.URI) == "https://example.org/report"
        assert "/OpenAction" not in pdf.Root
        assert not set(pdf.Root.Names.keys()) & {"/EmbeddedFiles", "/JavaScript"}
        assert not pdf.attachments
    assert CLEANER.inspect(out, Limits()) == set()


def test_embedded_photo_loses_gps(dirty: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean.pdf"
    clean_file(dirty, out)
    with pikepdf.open(out) as pdf:
        image = pdf.pages[0].Resources.XObject.Im1
        photo = tmp_path / "photo.jpg"
        photo.write_bytes(image.read_raw_bytes())
        assert (int(image.Width), int(image.Height)) == (16, 16)
    assert leaks(photo) == []


def test_incremental_update_leaves_no_earlier_author(tmp_path: Path) -> None:
    path = tmp_path / "revised.pdf"
    docgen.dirty_pdf(path)
    docgen.append_incremental_update(path, "Bob Update")
    raw = path.read_bytes()
    assert b"Alice Original" in raw and b"Bob Update" in raw  # both revisions are there
    with pikepdf.open(path) as pdf:
        assert str(pdf.docinfo.Author) == "Bob Update"
    out = tmp_path / "clean.pdf"
    result = clean_file(path, out)
    assert Category.REVISIONS in result.removed
    assert_absent(["Alice Original", "Bob Update"], out)
    assert out.read_bytes().count(b"startxref") == 1


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    docgen.dirty_pdf(path, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    with pytest.raises(Refusal) as info:
        clean_file(path, tmp_path / "out.pdf")
    assert info.value.code == RefusalCode.ENCRYPTED
    assert not (tmp_path / "out.pdf").exists()


def test_owner_password_only_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "restricted.pdf"
    docgen.dirty_pdf(path, encryption=pikepdf.Encryption(user="", owner="owner"))
    out = tmp_path / "out.pdf"
    clean_file(path, out)
    with pikepdf.open(out) as pdf:
        assert not pdf.is_encrypted
    assert_absent(docgen.SECRETS, out)


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R")
    with pytest.raises(Refusal) as info:
        clean_file(path, tmp_path / "out.pdf")
    assert info.value.code in {RefusalCode.MALFORMED, RefusalCode.CLEANING_FAILED}


def test_decompressed_streams_count_against_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.pdf"
    docgen.dirty_pdf(path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        image = pdf.pages[0].Resources.XObject.Im1
        jpeg = image.read_raw_bytes()
        # Flate around DCT: the cleaner has to inflate it to reach the JPEG.
        image.write(
            zlib.compress(jpeg),
            filter=pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.DCTDecode]),
        )
        pdf.save(path)
    with pytest.raises(Refusal) as info:
        clean_file(path, tmp_path / "out.pdf", Limits(max_expanded_bytes=len(jpeg) - 1))
    assert info.value.code == RefusalCode.TOO_LARGE
    out = tmp_path / "ok.pdf"
    clean_file(path, out)
    assert leaks(out) == []


def _identifying_values(path: Path) -> list[str]:
    """What the original says about its author, software, ids and dates, read by
    pikepdf independently of the cleaner."""
    values = []
    with pikepdf.open(path) as pdf:
        for key, value in pdf.docinfo.items():
            if key != "/Trapped":
                values.append(str(value))
        xmp = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace")
    values += re.findall(r"(?:uuid|xmp\.[di]id|adobe:docid:[a-z]+):[0-9a-fA-F-]{8,}", xmp)
    values += [v for v in re.findall(r">([^<>]{6,})<", xmp) if v.strip()]
    return [v for v in values if len(v.strip()) >= 6]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["exiftool_PDF.pdf", "mat2_dirty.pdf"])
def test_corpus_pdf(name: str, tmp_path: Path) -> None:
    src = corpus_file(name)
    out = tmp_path / "clean.pdf"
    clean_file(src, out)
    assert leaks(out) == []
    values = _identifying_values(src)
    assert values, "the corpus file should carry identifying values"
    assert_absent(values, out)
    assert page_contents(out) == page_contents(src)
