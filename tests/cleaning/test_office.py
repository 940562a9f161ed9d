"""The office cleaner: DOCX/XLSX/PPTX/ODT rebuilt without properties, authors, dates,
revision ids, custom XML, thumbnails or picture metadata; hostile zips refused."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.office import CLEANER
from tests.cleaning import docgen
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks

GENERATED = {
    "docx": (docgen.dirty_docx, "word/document.xml"),
    "xlsx": (docgen.dirty_xlsx, "xl/sharedStrings.xml"),
    "pptx": (docgen.dirty_pptx, "ppt/slides/slide1.xml"),
    "odt": (docgen.dirty_odt, "content.xml"),
}


def assert_absent(values, path: Path) -> None:
    """None of ``values`` in the file's bytes nor in any member, decompressed."""
    blobs = [path.read_bytes(), *docgen.zip_members(path).values()]
    for value in values:
        for encoding in ("utf-8", "utf-16-le"):
            needle = value.encode(encoding)
            assert not any(needle in blob for blob in blobs), value


def assert_tidy_zip(path: Path, first: str) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert zf.comment == b""
    assert infos[0].filename == first
    assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.extra == b""


@pytest.mark.parametrize("kind", sorted(GENERATED))
def test_generated_document_is_cleaned(kind: str, tmp_path: Path) -> None:
    make, body_part = GENERATED[kind]
    src = tmp_path / f"dirty.{kind}"
    make(src)
    assert {Category.AUTHOR, Category.DATES} <= CLEANER.inspect(src, Limits())
    out = tmp_path / f"clean.{kind}"
    result = clean_file(src, out)
    assert (result.kind, result.format, result.extension) == ("document", kind.upper(), kind)
    assert {Category.AUTHOR, Category.DATES, Category.THUMBNAIL} <= result.removed
    assert leaks(out) == []
    assert_absent(docgen.SECRETS, out)
    members = docgen.zip_members(out)
    assert docgen.BODY.encode() in members[body_part]
    assert any(docgen.NOTE.encode() in data for data in members.values())  # comment text
    assert not [n for n in members if "thumbnail" in n.lower() or "customxml" in n.lower()]
    assert_tidy_zip(out, "mimetype" if kind == "odt" else "[Content_Types].xml")
    assert CLEANER.inspect(out, Limits()) == set()
    again = tmp_path / f"again.{kind}"
    clean_file(src, again)
    assert again.read_bytes() == out.read_bytes()  # nothing random, nothing dated


@pytest.mark.parametrize("kind", ["docx", "pptx", "odt"])
def test_pictures_inside_lose_their_gps(kind: str, tmp_path: Path) -> None:
    src = tmp_path / f"dirty.{kind}"
    GENERATED[kind][0](src)
    out = tmp_path / f"clean.{kind}"
    result = clean_file(src, out)
    assert {Category.GPS, Category.MAKE_MODEL} <= result.removed
    photos = [(n, d) for n, d in docgen.zip_members(out).items() if n.endswith((".jpg", ".jpeg"))]
    assert len(photos) == 1
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photos[0][1])
    assert leaks(photo) == []


def test_docx_keeps_structure_and_links(tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    out = tmp_path / "clean.docx"
    clean_file(src, out)
    members = docgen.zip_members(out)
    document = members["word/document.xml"].decode()
    assert 'mc:Ignorable="w14"' in document and "xmlns:w14=" in document  # prefixes kept
    assert "inserted words" in document and "gone" in document  # tracked text stays
    assert 'w:author="Author"' in document
    assert "w:date=" not in document and "rsid" not in document
    rels = members["word/_rels/document.xml.rels"].decode()
    assert "https://example.org/report" in rels
    assert "customXml" not in rels and "printerSettings" not in rels and "people" not in rels
    assert "Normal.dotm" not in members["word/_rels/settings.xml.rels"].decode()
    core = ElementTree.fromstring(members["docProps/core.xml"])
    assert len(core) == 0
    types = members["[Content_Types].xml"].decode()
    assert "custom-properties" not in types and "people" not in types


def test_macro_document_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "macro.docx"
    docgen.dirty_docx(src, macro=True)
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.ACTIVE_CONTENT


def test_macro_project_in_plain_docx_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    members = list(docgen.zip_members(src).items())
    docgen.write_zip(src, [*members, ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")])
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.ACTIVE_CONTENT


def _docx_with(tmp_path: Path, extra: list[tuple[str, bytes]]) -> Path:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    docgen.write_zip(src, [*docgen.zip_members(src).items(), *extra])
    return src


def test_zip_bomb_member_is_refused(tmp_path: Path) -> None:
    src = _docx_with(tmp_path, [("word/media/zeros.png", bytes(20 * 1024 * 1024))])
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.TOO_LARGE


def test_a_stored_repetitive_part_is_not_refused_once_cleaned(tmp_path: Path) -> None:
    """A long run of identical rows, stored uncompressed as some writers do, deflates
    past the ratio that marks a bomb: written deflated, our own output failed its
    re-inspection and a harmless document was refused."""
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    members = docgen.zip_members(src)
    row = b"<w:p><w:r><w:t>aaaa</w:t></w:r></w:p>"
    members["word/document.xml"] = members["word/document.xml"].replace(
        b"</w:body>", row * 80_000 + b"</w:body>", 1
    )
    with zipfile.ZipFile(src, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 5, 6, 7, 8, 9)), data)
    out = tmp_path / "clean.docx"
    clean_file(src, out)
    with zipfile.ZipFile(out) as zf:
        part = zf.getinfo("word/document.xml")
        assert part.compress_type == zipfile.ZIP_STORED and part.file_size > 2_000_000
        assert zf.read("word/document.xml").count(row) == 80_000
        assert zf.getinfo("[Content_Types].xml").compress_type == zipfile.ZIP_DEFLATED
    assert leaks(out) == []


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (Limits(max_members=5), RefusalCode.TOO_COMPLEX),
        (Limits(max_expanded_bytes=2000), RefusalCode.TOO_LARGE),
    ],
    ids=["members", "expanded"],
)
def test_package_limits(limits: Limits, code: RefusalCode, tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out", limits)
    assert info.value.code == code


@pytest.mark.parametrize(
    "name",
    ["../evil.xml", "/etc/evil.xml", "word\\evil.xml", "word/../../evil.xml", "C:/evil.xml"],
)
def test_path_tricks_are_refused(name: str, tmp_path: Path) -> None:
    src = _docx_with(tmp_path, [(name, b"<x/>")])
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.MALFORMED


def test_duplicate_member_is_refused(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate"):
        src = _docx_with(tmp_path, [("word/document.xml", b"<w:document/>")])
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.MALFORMED


def test_external_entities_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    members = docgen.zip_members(src)
    members["word/styles.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<w:styles>&e;</w:styles>"
    )
    docgen.write_zip(src, list(members.items()))
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.MALFORMED


def test_member_whose_deflate_data_is_broken_is_malformed(tmp_path: Path) -> None:
    """Found by the fuzz test: zlib's own error (an invalid deflate block type)
    crashed the cleaner instead of refusing the document as damaged."""
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo("word/document.xml")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    header = info.header_offset
    name_length = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_length = int.from_bytes(data[header + 28 : header + 30], "little")
    # The first deflate block: final, of type 3, which does not exist.
    data[header + 30 + name_length + extra_length] = 0b111
    src.write_bytes(data)
    with pytest.raises(Refusal) as refused:
        clean_file(src, tmp_path / "out")
    assert refused.value.code == RefusalCode.MALFORMED, refused.value


def test_zip_of_a_version_zipfile_cannot_read_is_malformed(tmp_path: Path) -> None:
    """Found by the long fuzz run: a central directory asking for ZIP version 8.4
    made zipfile raise NotImplementedError, a crash instead of a refusal."""
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    data = bytearray(src.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central directory entry
    data[entry + 6 : entry + 8] = (84).to_bytes(2, "little")  # version needed: 8.4
    src.write_bytes(data)
    with pytest.raises(Refusal) as refused:
        clean_file(src, tmp_path / "out")
    assert refused.value.code == RefusalCode.MALFORMED, refused.value


def test_plain_zip_is_an_archive(tmp_path: Path) -> None:
    src = tmp_path / "photos.zip"
    docgen.write_zip(src, [("notes.txt", b"hello"), ("word/document.xml", b"<x/>")])
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.ARCHIVE


def test_encrypted_odf_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "dirty.odt"
    docgen.dirty_odt(src)
    members = docgen.zip_members(src)
    members["META-INF/manifest.xml"] = members["META-INF/manifest.xml"].replace(
        b'manifest:media-type="text/xml"/>',
        b'manifest:media-type="text/xml"><manifest:encryption-data/></manifest:file-entry>',
        1,
    )
    docgen.write_zip(src, list(members.items()), stored_first=True)
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.ENCRYPTED


# ---------------------------------------------------------------------- corpus

_IDENTIFYING = re.compile(
    r"}(creator|lastModifiedBy|Company|Manager|Application|identifier|created|modified|"
    r"keywords|description|HyperlinkBase|generator|initial-creator|date|creation-date|"
    r"lpwstr|filetime)$"
)


def _identifying_values(path: Path) -> list[str]:
    """Property values read from the original's property parts, without the cleaner."""
    members = docgen.zip_members(path)
    values = []
    for name in ("docProps/core.xml", "docProps/app.xml", "docProps/custom.xml", "meta.xml"):
        if name in members:
            for element in ElementTree.fromstring(members[name]).iter():
                text = (element.text or "").strip()
                if _IDENTIFYING.search(element.tag) and len(text) >= 4:
                    values.append(text)
    return values


def _body_text(path: Path) -> list[str]:
    members = docgen.zip_members(path)
    part = members.get("word/document.xml") or members["content.xml"]
    root = ElementTree.fromstring(part)
    skip = {"{http://purl.org/dc/elements/1.1/}creator", "{http://purl.org/dc/elements/1.1/}date"}
    return [e.text for e in root.iter() if e.text and e.text.strip() and e.tag not in skip]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["exiftool_OOXML.docx", "mat2_dirty.docx", "mat2_dirty.odt"])
def test_corpus_document(name: str, tmp_path: Path) -> None:
    src = corpus_file(name)
    out = tmp_path / name
    clean_file(src, out)
    assert leaks(out) == []
    # A value that also occurs in the content (exiftool_OOXML.docx is signed "Jeff"; a
    # custom property "Office" is in every namespace URI) cannot show a leak.
    content = b"".join(
        data
        for member, data in docgen.zip_members(src).items()
        if not member.startswith("docProps/") and member != "meta.xml"
    )
    values = [v for v in _identifying_values(src) if v.encode() not in content]
    assert values, "the corpus file should carry identifying values"
    assert_absent(values, out)
    assert _body_text(out) == _body_text(src)


def test_picture_nothing_cleans_is_dropped_with_its_reference(tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    members = docgen.zip_members(src)
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"<Default ", b'<Default Extension="emf" ContentType="image/x-emf"/><Default ', 1
    )
    rels = "word/_rels/document.xml.rels"
    members[rels] = members[rels].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdEmf" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/image" Target="media/image2.emf"/></Relationships>',
    )
    members["word/media/image2.emf"] = b"\x01\x00\x00\x00 EMF drawn by Maria Delgado"
    docgen.write_zip(src, list(members.items()))
    out = tmp_path / "clean.docx"
    result = clean_file(src, out)
    assert Category.EMBEDDED in result.removed
    cleaned = docgen.zip_members(out)
    assert "word/media/image2.emf" not in cleaned
    assert b"rIdEmf" not in cleaned[rels]
    assert "word/media/image1.jpeg" in cleaned  # the JPEG is cleaned, not dropped


def test_too_deep_picture_refuses_the_document(tmp_path: Path) -> None:
    src = tmp_path / "dirty.docx"
    docgen.dirty_docx(src)
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out", Limits(max_depth=0))
    assert info.value.code == RefusalCode.TOO_LARGE


def _rewrite_member(src: Path, dst: Path, name: str, old: bytes, new: bytes) -> None:
    members = docgen.zip_members(src)
    assert old in members[name]
    members[name] = members[name].replace(old, new, 1)
    docgen.write_zip(dst, list(members.items()), stored_first="mimetype" in members)


# Who set a password to modify (Excel's file sharing), and LibreOffice fields filled
# from the user's own name, address and phone (not shown as such once recomputed).
_USER_DATA = {
    "xlsx": (
        "xl/workbook.xml",
        b"<sheets>",
        b'<fileSharing userName="Mariela Dominguez Sharing" readOnlyRecommended="1"/><sheets>',
    ),
    "odt": (
        "content.xml",
        b"</office:text>",
        b"<text:p><text:author-name>Mariela Dominguez Field</text:author-name>"
        b"<text:author-initials>MDZQX</text:author-initials>"
        b"<text:sender-firstname>Mariela Sender</text:sender-firstname>"
        b"<text:sender-phone-private>+52 656 555 0199</text:sender-phone-private>"
        b"</text:p></office:text>",
    ),
}


@pytest.mark.parametrize("kind", sorted(_USER_DATA))
def test_user_names_outside_properties_are_removed(kind: str, tmp_path: Path) -> None:
    name, old, new = _USER_DATA[kind]
    plain = tmp_path / f"plain.{kind}"
    GENERATED[kind][0](plain)
    src = tmp_path / f"dirty.{kind}"
    _rewrite_member(plain, src, name, old, new)
    out = tmp_path / f"clean.{kind}"
    result = clean_file(src, out)
    assert Category.AUTHOR in result.removed
    assert_absent(["Mariela Dominguez", "Mariela Sender", "656 555 0199", "MDZQX"], out)
    assert CLEANER.inspect(out, Limits()) == set()
