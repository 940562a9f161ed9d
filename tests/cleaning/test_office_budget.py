"""Office documents within a resource budget: XML elements and nesting, and zip entries
counted from the central directory before :mod:`zipfile` builds anything for them.
Over budget is refused as too complex (``TOO_COMPLEX``), before the costly work."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree

from portal.cleaning import Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.office import CLEANER, entries
from tests.cleaning import docgen, hostile


def refusal(src: Path, tmp_path: Path, limits: Limits | None = None) -> RefusalCode:
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out", limits)
    assert not (tmp_path / "out").exists()
    return info.value.code


@pytest.fixture
def parsed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every XML part lxml is asked to parse."""
    sizes: list[int] = []
    real = etree.fromstring

    def spy(data, *args, **kwargs):
        sizes.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(etree, "fromstring", spy)
    return sizes


def test_two_million_elements_are_refused_before_parsing(
    tmp_path: Path, parsed_sizes: list[int]
) -> None:
    src = tmp_path / "many.docx"
    hostile.many_elements_docx(src)
    document = docgen.zip_members(src)["word/document.xml"]
    assert src.stat().st_size > len(document) > 8_000_000  # stored: no ratio to see
    assert refusal(src, tmp_path) == RefusalCode.TOO_COMPLEX
    assert parsed_sizes and max(parsed_sizes) < len(document)


def test_elements_are_counted_across_parts(tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    clean_file(src, tmp_path / "ok.docx")
    # No single part is large, but together they are over this budget.
    members = docgen.zip_members(src)
    largest = max(
        entries_bound
        for name, data in members.items()
        if name.endswith((".xml", ".rels"))
        for entries_bound in [data.count(b"<")]
    )
    assert refusal(src, tmp_path, Limits(max_xml_elements=largest + 1)) == RefusalCode.TOO_COMPLEX


@pytest.mark.parametrize(
    ("depth", "limits"),
    [(100_000, Limits()), (150, Limits(max_xml_depth=100))],
    ids=["deeper-than-libxml2-allows", "deeper-than-the-limit"],
)
def test_deep_nesting_is_refused(depth: int, limits: Limits, tmp_path: Path) -> None:
    src = tmp_path / "deep.docx"
    hostile.deep_docx(src, depth)
    assert refusal(src, tmp_path, limits) == RefusalCode.TOO_COMPLEX


def test_nesting_within_the_limit_is_cleaned(tmp_path: Path) -> None:
    src = tmp_path / "deep.docx"
    hostile.deep_docx(src, 150)
    out = tmp_path / "ok.docx"
    clean_file(src, out)
    assert docgen.zip_members(out)["word/document.xml"].count(b"<w:sdt") == 150


@pytest.fixture
def zipfile_opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every zip :class:`zipfile.ZipFile` is asked to open (and then refuses to)."""
    opened: list[object] = []

    def record(file, *_args, **_kwargs):
        opened.append(file)
        raise zipfile.BadZipFile("not opened in this test")

    monkeypatch.setattr(zipfile, "ZipFile", record)
    return opened


@pytest.mark.parametrize("claimed", [None, 5], ids=["end-record-true", "end-record-lies"])
def test_300k_entries_are_refused_before_zipfile_reads_them(
    claimed: int | None, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    src = tmp_path / "entries.docx"
    hostile.many_entries_docx(src, claimed=claimed)
    with zipfile.ZipFile(src) as zf:
        assert len(zf.infolist()) > 300_000  # what zipfile would have built
    opened = request.getfixturevalue("zipfile_opened")
    assert refusal(src, tmp_path) == RefusalCode.TOO_COMPLEX
    assert opened == []


def test_sniffing_does_not_read_a_huge_directory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    src = tmp_path / "entries.zip"
    hostile.many_entries_docx(src, 20_000)
    data = bytearray(src.read_bytes())
    data[30 : 30 + len("[Content_Types].xml")] = b"[Content_Typez].xml"  # hide the marker
    src.write_bytes(bytes(data))
    opened = request.getfixturevalue("zipfile_opened")
    assert not CLEANER.sniff(bytes(data[:4096]), src)
    assert opened == []


def _counted(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as zf:
        return entries.count_entries(path, 10**9), len(zf.infolist())


def test_entries_are_counted_where_zipfile_reads_them(tmp_path: Path) -> None:
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        for i in range(40):
            zf.writestr(f"a/{i}.txt", b"x" * i)
        zf.comment = b"a comment"
    prefixed = tmp_path / "prefixed.zip"  # data in front, as in a self-extractor
    prefixed.write_bytes(b"MZ" + bytes(1000) + plain.read_bytes())
    big = tmp_path / "zip64.zip"
    with zipfile.ZipFile(big, "w") as zf:
        for i in range(0x10000 + 5):  # past the 16-bit count: a zip64 end record
            zf.writestr(zipfile.ZipInfo(f"{i}"), b"")
    assert big.read_bytes().find(b"PK\x06\x06") > 0
    for path in (plain, prefixed, big):
        count, real = _counted(path)
        assert count == real
    assert entries.count_entries(big, 100) == 101  # stops once past the most wanted


@pytest.mark.parametrize(
    "damage",
    [lambda d: d[:-22], lambda d: d[:-22] + b"PK\x05\x06" + bytes(18)[:-8] + b"\xff" * 8],
    ids=["no-end-record", "directory-out-of-file"],
)
def test_broken_directory_is_malformed(damage, tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    src.write_bytes(damage(src.read_bytes()))
    assert refusal(src, tmp_path) == RefusalCode.MALFORMED
