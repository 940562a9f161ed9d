"""Documents built to beat the cleaner: PDFs and office files that hide identifying
data where a deny-list does not look, or that cost a lot to take apart.

Every builder writes one file to the path it is given and returns nothing. The
values that must not survive cleaning are listed in ``CANARIES`` (search the output
with its zip members inflated and its PDF objects expanded). ``CASES`` names every
builder at full size, for benchmarks (bench/clean.py's hostile group, and
bench/hostile_documents.py for time and peak memory per case); tests call the
builders with smaller sizes and smaller :class:`~portal.cleaning.Limits`.

Built by hand where a library would refuse to write the file (zip central
directories, field markup) and with pikepdf for PDFs.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from tests.cleaning import docgen

# --- canaries -------------------------------------------------------------------------

USER_PATH = "C:\\Users\\jperez\\Documents\\carta.docx"
TEMPLATE_PATH = "C:\\Users\\jperez\\AppData\\Roaming\\Microsoft\\Plantillas\\Memo.dotm"
PICTURE_PATH = "C:\\Users\\jperez\\Pictures\\retén.jpg"
FILE_LINK = "file:///C:/Users/jperez/Documents/nomina.xlsx"
FIELD_AUTHOR = "Juana Perez Campo"
FIELD_USER = "jperez.campo"
FIELD_SAVER = "Joaquin Ruiz Guardo"
FIELD_COMPANY = "Transportes Canario SA"
FIELD_CREATED = "12/03/2024 9:41"
FIELD_SAVED = "13/03/2024 18:02"
FIELD_PRINTED = "14/03/2024 7:15"
FIELD_TODAY = "6 de mayo de 2024"
DDE_COMMAND = "cmd.exe /c calc"
SENDER_PHONE = "+52 656 555 0123"
SENDER_STREET = "Calle Canario 42"
SHEET_PATH = "C:\\Users\\jperez\\[libro.xlsx]Hoja1"
SHEET_NOW = "45418.3125"

PDF_PRIVATE = "./figures/secret-plan-canary.pdf"
PDF_PRIVATE_PRODUCER = "cairo 1.13.1 canary producer"
PDF_CATALOG_KEY = "catalog-canary-7781"
PDF_TRAILER_KEY = "trailer-canary-5512"
PDF_HIDDEN_XMP = "hidden-xmp-canary-9034"
PDF_OPEN_URL = "https://tracker.example.net/open-canary"
PDF_JS = "app.launchURL('https://tracker.example.net/js-canary')"
PDF_FORM_JS = "this.submitForm('https://tracker.example.net/form-canary')"
PDF_LAUNCH = "C:\\Windows\\System32\\launch-canary.exe"
PDF_REMOTE = "\\\\server\\share\\gotor-canary.pdf"
PDF_SUBMIT = "https://tracker.example.net/submit-canary"
PDF_OCG_CREATOR = "Layer canary creator"
PDF_ANNOT_STATE = "annotation-canary-state"

#: Values that must not be found in any cleaned output of the builders here.
CANARIES = (
    USER_PATH,
    "jperez",
    TEMPLATE_PATH,
    PICTURE_PATH,
    FILE_LINK,
    FIELD_AUTHOR,
    FIELD_USER,
    FIELD_SAVER,
    FIELD_COMPANY,
    FIELD_CREATED,
    FIELD_SAVED,
    FIELD_PRINTED,
    FIELD_TODAY,
    DDE_COMMAND,
    SENDER_PHONE,
    SENDER_STREET,
    SHEET_PATH,
    SHEET_NOW,
    PDF_PRIVATE,
    PDF_PRIVATE_PRODUCER,
    PDF_CATALOG_KEY,
    PDF_TRAILER_KEY,
    PDF_HIDDEN_XMP,
    PDF_OPEN_URL,
    "js-canary",
    "form-canary",
    "launch-canary",
    "gotor-canary",
    "submit-canary",
    PDF_OCG_CREATOR,
    PDF_ANNOT_STATE,
    docgen.AUTHOR,
    "Canon EOS 40D",
)

#: Text of the documents' own content, which cleaning keeps.
KEPT_TEXT = ("Page number", "the secret file", "https://example.org/fuente", "Informe")

# --- zip packages -----------------------------------------------------------------------


def _replace_members(
    src: Path, dst: Path, changes: dict[str, bytes], *, stored: bool = False
) -> None:
    """``src``'s members with ``changes`` written to ``dst``; the changed members
    ``stored`` (not compressed) if asked, so no compression ratio gives them away."""
    members = docgen.zip_members(src)
    members.update(changes)
    with zipfile.ZipFile(dst, "w") as zf:
        for index, (name, data) in enumerate(members.items()):
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 6, 7, 8, 9))
            plain = (stored and name in changes) or (index == 0 and name == "mimetype")
            info.compress_type = zipfile.ZIP_STORED if plain else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


_W_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
)


def _complex(instruction: str, result: str) -> str:
    """A complex field, each part in its own run as Word writes it."""
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        f"<w:r><w:t>{result}</w:t></w:r>"
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def fields_docx(path: Path) -> None:
    """A DOCX whose fields stored the author's name, user name, paths, dates and a
    DDE command; with harmless fields (page number, a web link) around them, a
    field nested in another, one in a text box and one run holding a whole field."""
    base = path.with_suffix(".base.docx")
    docgen.dirty_docx(base)
    body = "".join(
        [
            '<w:p><w:r><w:t xml:space="preserve">Page number </w:t></w:r>',
            _complex("PAGE", "3"),
            "</w:p><w:p>",
            f'<w:fldSimple w:instr=" FILENAME \\p "><w:r><w:t>{_escape(USER_PATH)}</w:t></w:r>'
            "</w:fldSimple>",
            _complex("AUTHOR \\* MERGEFORMAT", FIELD_AUTHOR),
            _complex("USERNAME", FIELD_USER),
            _complex("LASTSAVEDBY", FIELD_SAVER),
            _complex('DOCPROPERTY "Company"', FIELD_COMPANY),
            _complex('CREATEDATE \\@ "dd/MM/yyyy H:mm"', FIELD_CREATED),
            _complex("SAVEDATE", FIELD_SAVED),
            _complex("PRINTDATE", FIELD_PRINTED),
            _complex("TEMPLATE \\p", _escape(TEMPLATE_PATH)),
            _complex('DATE \\@ "d MMMM yyyy"', FIELD_TODAY),
            _complex(f'INCLUDEPICTURE "{_escape(PICTURE_PATH)}" \\d', "picture"),
            _complex(f"DDEAUTO {DDE_COMMAND}", "1"),
            "</w:p><w:p>",
            _complex('HYPERLINK "https://example.org/fuente"', "https://example.org/fuente"),
            _complex(f'HYPERLINK "{FILE_LINK}"', "the secret file"),
            # IF { AUTHOR } = "x": the nested field is in the instruction.
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> IF </w:instrText></w:r>',
            _complex("AUTHOR", FIELD_AUTHOR),
            '<w:r><w:instrText xml:space="preserve"> = "x" "y" "z" </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>z</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
            # A whole field in one run, with private field data.
            '<w:r><w:fldChar w:fldCharType="begin"><w:fldData>'
            "SnVhbmEgUGVyZXo=</w:fldData></w:fldChar>"
            '<w:instrText xml:space="preserve"> USERNAME </w:instrText>'
            f'<w:fldChar w:fldCharType="separate"/><w:t>{FIELD_USER}</w:t>'
            '<w:fldChar w:fldCharType="end"/></w:r>',
            '</w:p><w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
            "<wps:txbx><w:txbxContent><w:p>",
            _complex("AUTHOR", FIELD_AUTHOR),
            "</w:p></w:txbxContent></wps:txbx></w:drawing></mc:Choice></mc:AlternateContent>"
            "</w:r><w:r><w:t>Informe</w:t></w:r></w:p>",
        ]
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {_W_NS}>'
        f"<w:body>{body}<w:sectPr/></w:body></w:document>"
    ).encode()
    _replace_members(base, path, {"word/document.xml": document})
    base.unlink()


def fields_pptx(path: Path) -> None:
    """A PPTX slide with a slide number (kept) and a date field holding the date
    the author last saved it."""
    base = path.with_suffix(".base.pptx")
    docgen.dirty_pptx(base)
    slide = docgen.zip_members(base)["ppt/slides/slide1.xml"]
    fields = (
        '<a:p><a:r><a:t>Page number </a:t></a:r><a:fld id="{B6F15528-21DE-4FAA-801E-'
        '634DDDAF4B2B}" type="slidenum"><a:t>1</a:t></a:fld></a:p><a:p><a:fld '
        'id="{B6F15528-21DE-4FAA-801E-634DDDAF4B2C}" type="datetime1">'
        f"<a:t>{FIELD_TODAY}</a:t></a:fld></a:p>"
    ).encode()
    slide = slide.replace(b"</a:p></p:txBody>", b"</a:p>" + fields + b"</p:txBody>", 1)
    _replace_members(base, path, {"ppt/slides/slide1.xml": slide})
    base.unlink()


def fields_xlsx(path: Path) -> None:
    """An XLSX whose formulas cached the file's path on the author's computer
    (``CELL("filename")``, shared down a column) and the time of the last
    calculation (``NOW()``)."""
    base = path.with_suffix(".base.xlsx")
    docgen.dirty_xlsx(base)
    sheet = docgen.zip_members(base)["xl/worksheets/sheet1.xml"]
    rows = (
        '<row r="2"><c r="A2" t="str"><f t="shared" ref="A2:A3" si="0">CELL("filename",B1)'
        f"</f><v>{_escape(SHEET_PATH)}</v></c></row>"
        '<row r="3"><c r="A3" t="str"><f t="shared" si="0"/>'
        f"<v>{_escape(SHEET_PATH)}</v></c></row>"
        f'<row r="4"><c r="A4"><f>NOW()</f><v>{SHEET_NOW}</v></c>'
        '<c r="B4"><f>1+1</f><v>2</v></c></row>'
    ).encode()
    sheet = sheet.replace(b"</row>\n</sheetData>", b"</row>" + rows + b"\n</sheetData>", 1)
    _replace_members(base, path, {"xl/worksheets/sheet1.xml": sheet})
    base.unlink()


def fields_odt(path: Path) -> None:
    """An ODT whose text fields stored the author, the sender's address and phone,
    the file and template names, dates, a user-defined property, a DDE link and a
    script; with a page number and a fixed date (content) that stay."""
    base = path.with_suffix(".base.odt")
    docgen.dirty_odt(base)
    fields = (
        '<text:p>Page number <text:page-number text:select-page="current">2'
        "</text:page-number>"
        f"<text:initial-creator>{FIELD_AUTHOR}</text:initial-creator>"
        f"<text:creator>{FIELD_SAVER}</text:creator>"
        f"<text:printed-by>{FIELD_USER}</text:printed-by>"
        f'<text:creation-date text:date-value="2024-03-12">{FIELD_CREATED}</text:creation-date>'
        f"<text:modification-date>{FIELD_SAVED}</text:modification-date>"
        f"<text:print-date>{FIELD_PRINTED}</text:print-date>"
        f'<text:file-name text:display="full">{_escape(USER_PATH)}</text:file-name>'
        f"<text:template-name>{_escape(TEMPLATE_PATH)}</text:template-name>"
        f'<text:user-defined text:name="Empresa">{FIELD_COMPANY}</text:user-defined>'
        f"<text:sender-phone-private>{SENDER_PHONE}</text:sender-phone-private>"
        f"<text:sender-street>{SENDER_STREET}</text:sender-street>"
        f'<text:date text:date-value="2024-05-06">{FIELD_TODAY}</text:date>'
        '<text:date text:fixed="true" text:date-value="2023-01-02">Informe</text:date>'
        '<text:script script:language="StarBasic" xmlns:script="urn:oasis:names:tc:'
        f'opendocument:xmlns:script:1.0">Shell("{DDE_COMMAND}")</text:script>'
        '<text:dde-connection text:connection-name="link">x</text:dde-connection>'
        "</text:p>"
        '<text:dde-connection-decls><text:dde-connection-decl text:name="link" '
        'office:dde-application="soffice" office:dde-topic="'
        f'{_escape(FILE_LINK)}" office:dde-item="A1"/></text:dde-connection-decls>'
    ).encode()
    content = docgen.zip_members(base)["content.xml"]
    content = content.replace(b"</office:text>", fields + b"</office:text>", 1)
    _replace_members(base, path, {"content.xml": content})
    base.unlink()


def many_elements_docx(path: Path, count: int = 2_000_000) -> None:
    """A DOCX whose document.xml is ``count`` empty elements (2 million: 8 MB of XML),
    stored uncompressed so no compression ratio gives it away."""
    base = path.with_suffix(".base.docx")
    docgen.dirty_docx(base)
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W_NS}><w:body>'.encode()
        + b"<a/>" * count
        + b"</w:body></w:document>"
    )
    _replace_members(base, path, {"word/document.xml": document}, stored=True)
    base.unlink()


def deep_docx(path: Path, depth: int = 100_000) -> None:
    """A DOCX whose document.xml nests ``depth`` elements inside each other (stored
    uncompressed)."""
    base = path.with_suffix(".base.docx")
    docgen.dirty_docx(base)
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W_NS}><w:body>'.encode()
        + b"<w:sdt>" * depth
        + b"</w:sdt>" * depth
        + b"</w:body></w:document>"
    )
    _replace_members(base, path, {"word/document.xml": document}, stored=True)
    base.unlink()


def _zip_records(name: bytes, data: bytes, offset: int) -> tuple[bytes, bytes]:
    """A stored member's local header with its data, and its central record."""
    crc = zlib.crc32(data)
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 33, crc, len(data), len(data), len(name), 0
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        0,
        0,
        33,
        crc,
        len(data),
        len(data),
        len(name),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    return local + name + data, central + name


def many_entries_docx(path: Path, count: int = 300_000, *, claimed: int | None = None) -> None:
    """A zip that starts like a DOCX ([Content_Types].xml first) followed by
    ``count`` tiny members; its end record claims ``claimed`` entries (the true count
    unless given), as a liar would to slip past a check of that number."""
    base = path.with_suffix(".base.docx")
    docgen.dirty_docx(base)
    members = list(docgen.zip_members(base).items())
    base.unlink()
    members.sort(key=lambda item: item[0] != "[Content_Types].xml")
    members += [(f"x/{i}", b"") for i in range(count)]
    body, directory = bytearray(), bytearray()
    for name, data in members:
        local, central = _zip_records(name.encode(), data, len(body))
        body += local
        directory += central
    total = len(members) if claimed is None else claimed
    end = struct.pack(
        "<4s4H2LH",
        b"PK\x05\x06",
        0,
        0,
        min(total, 0xFFFF),
        min(total, 0xFFFF),
        len(directory),
        len(body),
        0,
    )
    path.write_bytes(bytes(body + directory + end))


#: Every hostile document at full size, by name: ``builder(path)``.
CASES: dict[str, Callable[[Path], None]] = {
    "docx-fields": fields_docx,
    "pptx-fields": fields_pptx,
    "xlsx-formulas": fields_xlsx,
    "odt-fields": fields_odt,
    "docx-2M-elements": many_elements_docx,
    "docx-deep-100k": deep_docx,
    "docx-300k-entries": many_entries_docx,
    "docx-300k-entries-end-says-5": lambda path: many_entries_docx(path, claimed=5),
}
