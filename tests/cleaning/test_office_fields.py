"""Office fields from an allow-list: a field not on the short list of harmless ones
loses the result it stored (the author's name, a path on the author's computer, the
date it was saved or printed), in DOCX, PPTX, XLSX and ODT; the receipt says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.cleaning import Category, Limits, clean_file
from portal.cleaning.office import CLEANER
from tests.cleaning import docgen, hostile
from tests.exiftool_oracle import leaks


def inflated(path: Path) -> list[bytes]:
    """The file's bytes and every zip member, inflated."""
    return [path.read_bytes(), *docgen.zip_members(path).values()]


def assert_absent(values: tuple[str, ...] | list[str], path: Path) -> None:
    blobs = inflated(path)
    for value in values:
        for variant in {value, hostile._escape(value)}:
            for encoding in ("utf-8", "utf-16-le"):
                needle = variant.encode(encoding)
                assert not any(needle in blob for blob in blobs), value


def clean(builder, kind: str, tmp_path: Path):
    src = tmp_path / f"hostile.{kind}"
    builder(src)
    out = tmp_path / f"clean.{kind}"
    result = clean_file(src, out)
    assert leaks(out) == []
    assert_absent(hostile.CANARIES, out)
    assert CLEANER.inspect(out, Limits()) == set()  # nothing left to remove
    return src, out, result


def test_docx_fields_lose_what_they_stored(tmp_path: Path) -> None:
    src, out, result = clean(hostile.fields_docx, "docx", tmp_path)
    assert hostile.FIELD_AUTHOR.encode() in docgen.zip_members(src)["word/document.xml"]
    assert {
        Category.AUTHOR,
        Category.DATES,
        Category.FILE_PATHS,
        Category.SCRIPTS,
        Category.HIDDEN_DATA,  # the field's private data
    } <= result.removed
    document = docgen.zip_members(out)["word/document.xml"].decode()
    # Harmless fields stay with their result; the date computed at opening stays a
    # field without the date it last showed; the link to a file keeps its text.
    assert re.search(r"> PAGE <.*<w:t>3</w:t>", document)
    assert "DATE \\@" in document
    assert 'HYPERLINK "https://example.org/fuente"' in document
    assert "the secret file" in document and "nomina" not in document
    assert "Informe" in document and "Page number" in document
    for gone in ("FILENAME", "AUTHOR", "USERNAME", "TEMPLATE", "DDEAUTO", "INCLUDEPICTURE"):
        assert gone not in document
    assert document.count('w:fldCharType="begin"') == document.count('w:fldCharType="end"')


def test_pptx_date_field_loses_its_date_and_keeps_the_slide_number(tmp_path: Path) -> None:
    _src, out, result = clean(hostile.fields_pptx, "pptx", tmp_path)
    assert Category.DATES in result.removed
    slide = docgen.zip_members(out)["ppt/slides/slide1.xml"].decode()
    assert re.search(r'type="slidenum"><a:t>1</a:t>', slide)
    assert 'type="datetime1"' in slide  # recomputed when the file is opened


def test_xlsx_formulas_lose_cached_paths_and_times(tmp_path: Path) -> None:
    _src, out, result = clean(hostile.fields_xlsx, "xlsx", tmp_path)
    assert {Category.FILE_PATHS, Category.DATES} <= result.removed
    sheet = docgen.zip_members(out)["xl/worksheets/sheet1.xml"].decode()
    assert 'CELL("filename",B1)' in sheet and "NOW()" in sheet  # formulas stay
    assert "<f>1+1</f><v>2</v>" in sheet  # an ordinary formula keeps its value


def test_odt_fields_lose_what_they_stored(tmp_path: Path) -> None:
    _src, out, result = clean(hostile.fields_odt, "odt", tmp_path)
    assert {
        Category.AUTHOR,
        Category.DATES,
        Category.FILE_PATHS,
        Category.COMMENT,
        Category.SCRIPTS,
    } <= result.removed
    content = docgen.zip_members(out)["content.xml"].decode()
    assert re.search(r"<text:page-number[^>]*>2</text:page-number>", content)
    assert re.search(r'<text:date text:fixed="true"[^>]*>Informe</text:date>', content)
    assert "<text:file-name" in content  # the field stays, empty
    assert "text:script" not in content and "dde-connection" not in content


@pytest.mark.parametrize(
    "builder",
    [hostile.fields_docx, hostile.fields_pptx, hostile.fields_xlsx, hostile.fields_odt],
    ids=["docx", "pptx", "xlsx", "odt"],
)
def test_inspect_reports_what_clean_removes(builder, tmp_path: Path) -> None:
    kind = builder.__name__.rsplit("_", 1)[1]
    src = tmp_path / f"hostile.{kind}"
    builder(src)
    assert CLEANER.inspect(src, Limits()) == set(clean_file(src, tmp_path / "out").removed)
