"""Small documents full of identifying metadata, generated for the document cleaners'
tests: a GPS-tagged JPEG, a PDF with every kind of PDF metadata and an incremental
update, OOXML (DOCX/XLSX/PPTX) and ODF (ODT) packages with comments, tracked changes,
revision ids, custom XML, a thumbnail and a GPS-tagged picture, plus hostile zips.

Every identifying value is listed in ``SECRETS`` so tests can search the cleaned bytes
for them.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import ExifTags, Image, ImageCms

AUTHOR = "Maria Delgado"
EARLY_AUTHOR = "Alice Original"
LATE_AUTHOR = "Bob Update"
COMPANY = "Aduana Norte SA"
SOFTWARE = "PhotoScan Pro 9.1"
DOC_ID = "uuid:5f1c0a3e-7b2d-4c11-9e8f-1234567890ab"
DATE = "2024-05-06T07:08:09Z"
PDF_DATE = "D:20240506070809Z"
USER_PATH = "C:\\Users\\mdelgado\\Documents\\"
BODY = "The shipment crosses at Nogales on Tuesday"
NOTE = "Ask the driver about the second truck"
RSID = "00A1B2C3"
CUSTOM = "mdelgado@example.org"
JS = "app.alert('tracking')"
ATTACHMENT = b"attached spreadsheet of payments, by Maria Delgado"

#: Values that must not survive cleaning, as they would be searched for in bytes.
SECRETS = (
    AUTHOR,
    EARLY_AUTHOR,
    LATE_AUTHOR,
    COMPANY,
    SOFTWARE,
    DOC_ID,
    DATE,
    PDF_DATE,
    "mdelgado",
    RSID,
    CUSTOM,
    JS,
    "attached spreadsheet",
)


def gps_jpeg(size: tuple[int, int] = (16, 16)) -> bytes:
    """A small JPEG with GPS, camera make, artist and a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS 40D"
    exif[ExifTags.Base.Artist] = AUTHOR
    exif[ExifTags.Base.DateTime] = "2024:05:06 07:08:09"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 20.0, 1.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (110.0, 56.0, 2.25)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=f"by {AUTHOR}".encode())
    return out.getvalue()


def gps_png() -> bytes:
    """A small PNG (thumbnails are PNG in ODF)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(out, "PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- PDF


def _xmp() -> bytes:
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<dc:creator><rdf:Seq><rdf:li>{AUTHOR}</rdf:li></rdf:Seq></dc:creator>
<xmpMM:DocumentID>{DOC_ID}</xmpMM:DocumentID>
<xmp:CreatorTool>{SOFTWARE}</xmp:CreatorTool>
<xmp:CreateDate>{DATE}</xmp:CreateDate>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>""".encode()


def dirty_pdf(path: Path, *, encryption: pikepdf.Encryption | None = None) -> None:
    """One page with text and a GPS-tagged JPEG; Info, XMP (catalog and image),
    PieceInfo, an attachment (name tree and annotation), JavaScript (name tree and
    open action), an annotation with author and dates, and a link that is kept."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(300, 300))
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    )
    image = pikepdf.Stream(pdf, gps_jpeg())
    image.Type = Name.XObject
    image.Subtype = Name.Image
    image.Width, image.Height = 16, 16
    image.ColorSpace = Name.DeviceRGB
    image.BitsPerComponent = 8
    image.Filter = Name.DCTDecode
    image.Metadata = pikepdf.Stream(pdf, _xmp())
    page.Resources = Dictionary(Font=Dictionary(F1=font), XObject=Dictionary(Im1=image))
    page.Contents = pdf.make_stream(
        f"BT /F1 12 Tf 20 250 Td ({BODY}) Tj ET q 64 0 0 64 20 100 cm /Im1 Do Q".encode()
    )
    page.obj.PieceInfo = Dictionary(
        Illustrator=Dictionary(LastModified=String(PDF_DATE), Private=String(USER_PATH))
    )
    page.obj.LastModified = String(PDF_DATE)
    pdf.Root.Metadata = pdf.make_stream(_xmp())
    pdf.docinfo = pdf.make_indirect(
        Dictionary(
            Author=String(EARLY_AUTHOR),
            Creator=String(SOFTWARE),
            Producer=String(SOFTWARE),
            CreationDate=String(PDF_DATE),
            Title=String(f"Notes of {AUTHOR}"),
        )
    )
    pdf.attachments["payments.txt"] = pikepdf.AttachedFileSpec(pdf, ATTACHMENT)
    script = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(JS)))
    pdf.Root.Names.JavaScript = Dictionary(Names=Array([String("init"), script]))
    pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=String(JS))
    attached = pikepdf.AttachedFileSpec(pdf, ATTACHMENT, filename="more.txt").obj
    page.Annots = pdf.make_indirect(
        Array(
            [
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Text,
                    Rect=[20, 20, 40, 40],
                    Contents=String(NOTE),
                    T=String(AUTHOR),
                    M=String(PDF_DATE),
                    NM=String(DOC_ID),
                ),
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.FileAttachment,
                    Rect=[50, 20, 70, 40],
                    FS=attached,
                    T=String(AUTHOR),
                ),
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[20, 240, 200, 260],
                    A=Dictionary(S=Name.URI, URI=String("https://example.org/report")),
                ),
            ]
        )
    )
    pdf.save(
        path,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        encryption=encryption or False,
        fix_metadata_version=False,
    )


def append_incremental_update(path: Path, author: str = LATE_AUTHOR) -> None:
    """Append a revision whose Info names another author; the previous Info object
    stays in the file, as an incremental save leaves it."""
    data = path.read_bytes()
    with pikepdf.open(path) as pdf:
        size = int(pdf.trailer.Size)
        root = pdf.Root.objgen[0]
    prev = int(data[data.rindex(b"startxref") + 9 :].split()[0])
    body = f"\n{size} 0 obj\n<< /Author ({author}) /Producer ({SOFTWARE}) >>\nendobj\n"
    offset = len(data) + 1
    xref_at = len(data) + len(body)
    tail = (
        f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{offset:010d} 00000 n \n"
        f"trailer\n<< /Size {size + 1} /Root {root} 0 R /Info {size} 0 R /Prev {prev} >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    )
    path.write_bytes(data + body.encode() + tail.encode())


#: The description of a scanner's own colour profile: it names the device.
DEVICE_PROFILE = "Canon iR-ADV C5535 Scanner 7QX-0042"


def device_icc(description: str = DEVICE_PROFILE) -> bytes:
    """An RGB scanner ('scnr') profile: littleCMS's sRGB with its description
    replaced by ``description``, so no standard colour space."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data += b"\x00" * (-len(data) % 4)
    text = description.encode("utf-16-be")
    tag = b"mluc" + struct.pack(">III2s2sII", 0, 1, 12, b"en", b"US", len(text), 28) + text
    (count,) = struct.unpack(">I", data[128:132])
    for i in range(count):
        entry = 132 + 12 * i
        if data[entry : entry + 4] == b"desc":
            data[entry + 4 : entry + 12] = struct.pack(">II", len(data), len(tag))
    data += tag + b"\x00" * (-len(tag) % 4)
    data[0:4] = struct.pack(">I", len(data))
    data[12:16] = b"scnr"
    return bytes(data)


def icc_pdf(path: Path, profile: bytes, *, components: int = 3) -> None:
    """One page whose image, indexed and separation colour spaces, /DefaultRGB,
    transparency group and output intent all use the ICC ``profile`` (compressed,
    as writers store it)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(100, 100))
    icc = pikepdf.Stream(pdf, zlib.compress(profile))
    icc.Filter = Name.FlateDecode
    icc.N = components
    space = Array([Name.ICCBased, icc])
    image = pikepdf.Stream(pdf, zlib.compress(bytes([10, 200, 30] * 16)))
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width, image.Height, image.BitsPerComponent = 4, 4, 8
    image.ColorSpace = space
    image.Filter = Name.FlateDecode
    tint = Dictionary(FunctionType=2, Domain=[0, 1], C0=[0, 0, 0], C1=[1, 0, 0], N=1)
    page.Resources = Dictionary(
        XObject=Dictionary(Im1=image),
        ColorSpace=Dictionary(
            CS0=Array([Name.Indexed, space, 1, String(b"\x00\x00\x00\xff\x00\x00")]),
            CS1=Array([Name.Separation, Name.Spot, space, tint]),
            DefaultRGB=space,
        ),
    )
    page.obj.Group = Dictionary(S=Name.Transparency, CS=space)
    page.Contents = pdf.make_stream(
        b"/CS0 cs 1 sc 0 0 10 10 re f /CS1 cs 1 sc 10 0 10 10 re f q 40 0 0 40 30 30 cm /Im1 Do Q"
    )
    pdf.Root.OutputIntents = Array(
        [
            Dictionary(
                Type=Name.OutputIntent,
                S=Name.GTS_PDFA1,
                OutputConditionIdentifier=String("Custom"),
                DestOutputProfile=icc,
            )
        ]
    )
    pdf.save(path, compress_streams=False)


def inline_jpeg_pdf(path: Path, jpeg: bytes, *, filter_name: str = "/DCT") -> None:
    """One page drawing ``jpeg`` (16 x 16) as an inline image, once in the page's
    content stream and once in a form XObject's."""
    inline = f"BI /W 16 /H 16 /CS /RGB /BPC 8 /F {filter_name} ID ".encode() + jpeg + b"\nEI"
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(100, 100))
    form = pdf.make_stream(b"q 16 0 0 16 0 0 cm " + inline + b" Q")
    form.Type, form.Subtype = Name.XObject, Name.Form
    form.BBox = [0, 0, 16, 16]
    page.Resources = Dictionary(XObject=Dictionary(Fm1=form))
    page.Contents = pdf.make_stream(b"q 32 0 0 32 10 10 cm " + inline + b" Q /Fm1 Do")
    pdf.save(path)


# ------------------------------------------------------------------- zip helpers


def write_zip(path: Path, members: list[tuple[str, bytes]], *, stored_first: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for index, (name, data) in enumerate(members):
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 6, 7, 8, 9))
            stored = stored_first and index == 0
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


# ----------------------------------------------------------------------- OOXML

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_OD = "application/vnd.openxmlformats-officedocument"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

_CORE = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties
 xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>Notes of {AUTHOR}</dc:title><dc:creator>{AUTHOR}</dc:creator>
<cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy><cp:revision>7</cp:revision>
<dc:identifier>{DOC_ID}</dc:identifier>
<dcterms:created xsi:type="dcterms:W3CDTF">{DATE}</dcterms:created>
<dcterms:modified xsi:type="dcterms:W3CDTF">{DATE}</dcterms:modified>
</cp:coreProperties>"""

_APP = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">
<Application>{SOFTWARE}</Application><Company>{COMPANY}</Company>
<Manager>{AUTHOR}</Manager><Template>{USER_PATH}Normal.dotm</Template></Properties>"""

_CUSTOM = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
 xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="Email">
<vt:lpwstr>{CUSTOM}</vt:lpwstr></property></Properties>"""


def _content_types(overrides: dict[str, str], defaults: dict[str, str]) -> bytes:
    rows = [f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults.items()]
    rows += [f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides.items()]
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{_CT}">'
        + "".join(rows)
        + "</Types>"
    ).encode()


def _rels(rels: list[tuple[str, str, str] | tuple[str, str, str, str]]) -> bytes:
    rows = []
    for rel in rels:
        rid, kind, target, *mode = rel
        extra = f' TargetMode="{mode[0]}"' if mode else ""
        uri = kind if kind.startswith("http") else f"{_REL}/{kind}"
        rows.append(f'<Relationship Id="{rid}" Type="{uri}" Target="{target}"{extra}/>')
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PR}">' + "".join(rows) + "</Relationships>"
    ).encode()


def _package_rels(main: str) -> bytes:
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    return _rels(
        [
            ("rId1", "officeDocument", main),
            ("rId2", f"{package}/metadata/core-properties", "docProps/core.xml"),
            ("rId3", "extended-properties", "docProps/app.xml"),
            ("rId4", "custom-properties", "docProps/custom.xml"),
            ("rId5", f"{package}/metadata/thumbnail", "docProps/thumbnail.jpeg"),
        ]
    )


def _ooxml_common_overrides() -> dict[str, str]:
    return {
        "docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
        "docProps/app.xml": f"{_OD}.extended-properties+xml",
        "docProps/custom.xml": f"{_OD}.custom-properties+xml",
        "customXml/itemProps1.xml": f"{_OD}.customXmlProperties+xml",
    }


_DEFAULTS = {
    "rels": "application/vnd.openxmlformats-package.relationships+xml",
    "xml": "application/xml",
    "jpeg": "image/jpeg",
    "bin": f"{_OD}.wordprocessingml.printerSettings",
}


def _custom_xml() -> list[tuple[str, bytes]]:
    return [
        ("customXml/item1.xml", f"<data><email>{CUSTOM}</email></data>".encode()),
        (
            "customXml/itemProps1.xml",
            b'<ds:datastoreItem ds:itemID="{6C2C1B49-0000-0000-0000-000000000000}" '
            b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"/>',
        ),
        ("customXml/_rels/item1.xml.rels", _rels([("rId1", "customXmlProps", "itemProps1.xml")])),
    ]


def dirty_docx(path: Path, *, macro: bool = False) -> None:
    """A DOCX with body text, a comment, tracked changes, rsids, a docId, an attached
    template path, custom XML, a thumbnail, printer settings and a GPS-tagged photo."""
    main_type = (
        "application/vnd.ms-word.document.macroEnabled.main+xml"
        if macro
        else f"{_OD}.wordprocessingml.document.main+xml"
    )
    w = f'xmlns:w="{_W}" xmlns:r="{_R}"'
    ns = (
        f'{w} xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" '
        'mc:Ignorable="w14"'
    )
    document = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {ns}><w:body>
<w:p w:rsidR="{RSID}" w:rsidRDefault="{RSID}" w14:paraId="1A2B3C4D" w14:textId="77777777">
<w:r w:rsidRPr="{RSID}"><w:t>{BODY}</w:t></w:r>
<w:commentRangeStart w:id="0"/><w:r><w:t xml:space="preserve"> and </w:t></w:r>
<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>
<w:ins w:id="1" w:author="{AUTHOR}" w:date="{DATE}"><w:r><w:t>inserted words</w:t></w:r></w:ins>
<w:del w:id="2" w:author="{LATE_AUTHOR}" w:date="{DATE}">
<w:r><w:delText>gone</w:delText></w:r></w:del>
<w:hyperlink r:id="rIdLink"><w:r><w:t>source</w:t></w:r></w:hyperlink>
</w:p>
<w:p><w:r><w:drawing><wp:inline><wp:docPr id="1" name="Picture 1"
 descr="{USER_PATH}IMG_0042.jpg"/><a:graphic><a:graphicData
 uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr>
<pic:cNvPr id="0" name="IMG_0042.jpg" descr="{USER_PATH}IMG_0042.jpg"/><pic:cNvPicPr/>
</pic:nvPicPr><pic:blipFill><a:blip r:embed="rIdImg"/></pic:blipFill></pic:pic>
</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>
<w:sectPr w:rsidR="{RSID}" w:rsidSect="{RSID}"/></w:body></w:document>"""
    comments = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:comments {w}><w:comment w:id="0" w:author="{AUTHOR}" w:date="{DATE}" w:initials="MD">
<w:p w:rsidR="{RSID}"><w:r><w:t>{NOTE}</w:t></w:r></w:p></w:comment></w:comments>"""
    settings = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings {w} xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"
 xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">
<w:attachedTemplate r:id="rIdTpl"/><w:trackRevisions/>
<w:rsids><w:rsidRoot w:val="{RSID}"/><w:rsid w:val="{RSID}"/></w:rsids>
<w14:docId w14:val="5F1C0A3E"/><w15:docId w15:val="{{{DOC_ID[5:]}}}"/>
</w:settings>"""
    styles = f'<?xml version="1.0" encoding="UTF-8"?><w:styles {w}/>'
    overrides = {
        "word/document.xml": main_type,
        "word/styles.xml": f"{_OD}.wordprocessingml.styles+xml",
        "word/settings.xml": f"{_OD}.wordprocessingml.settings+xml",
        "word/comments.xml": f"{_OD}.wordprocessingml.comments+xml",
        "word/people.xml": f"{_OD}.wordprocessingml.people+xml",
        **_ooxml_common_overrides(),
    }
    doc_rels = [
        ("rIdStyles", "styles", "styles.xml"),
        ("rIdSettings", "settings", "settings.xml"),
        ("rIdComments", "comments", "comments.xml"),
        ("rIdPeople", "people", "people.xml"),
        ("rIdImg", "image", "media/image1.jpeg"),
        ("rIdCustom", "customXml", "../customXml/item1.xml"),
        ("rIdPrinter", "printerSettings", "printerSettings/printerSettings1.bin"),
        ("rIdLink", "hyperlink", "https://example.org/report", "External"),
    ]
    people = (
        f'<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
        f'<w15:person w15:author="{AUTHOR}"><w15:presenceInfo w15:providerId="AD" '
        f'w15:userId="S-1-5-21-{CUSTOM}"/></w15:person></w15:people>'
    )
    members = [
        ("[Content_Types].xml", _content_types(overrides, _DEFAULTS)),
        ("_rels/.rels", _package_rels("word/document.xml")),
        ("docProps/core.xml", _CORE.encode()),
        ("docProps/app.xml", _APP.encode()),
        ("docProps/custom.xml", _CUSTOM.encode()),
        ("docProps/thumbnail.jpeg", gps_jpeg((8, 8))),
        ("word/document.xml", document.encode()),
        ("word/styles.xml", styles.encode()),
        ("word/settings.xml", settings.encode()),
        ("word/comments.xml", comments.encode()),
        ("word/people.xml", people.encode()),
        ("word/media/image1.jpeg", gps_jpeg()),
        ("word/printerSettings/printerSettings1.bin", f"HP LaserJet {AUTHOR}".encode()),
        ("word/_rels/document.xml.rels", _rels(doc_rels)),
        (
            "word/_rels/settings.xml.rels",
            _rels([("rIdTpl", "attachedTemplate", f"file:///{USER_PATH}Normal.dotm", "External")]),
        ),
        *_custom_xml(),
    ]
    if macro:
        members.append(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro"))
    write_zip(path, members)


def dirty_xlsx(path: Path) -> None:
    """An XLSX with a shared string, a cell comment by a named author, an absolute
    path of the author's folder and a revision pointer with a document id."""
    s = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    workbook = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{s}" xmlns:r="{_R}"
 xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
 xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"
 xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
 mc:Ignorable="x15ac xr"><fileVersion appName="xl" lastEdited="7" rupBuild="22228"/>
<mc:AlternateContent><mc:Choice Requires="x15ac"><x15ac:absPath url="{USER_PATH}"/>
</mc:Choice></mc:AlternateContent><xr:revisionPtr documentId="8_{{{DOC_ID[5:]}}}"/>
<sheets><sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
    sheet = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{s}" xmlns:r="{_R}"
 xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
 xr:uid="{{{DOC_ID[5:]}}}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>
</sheetData></worksheet>"""
    shared = f'<sst xmlns="{s}" count="1" uniqueCount="1"><si><t>{BODY}</t></si></sst>'
    comments = f"""<comments xmlns="{s}"><authors><author>{AUTHOR}</author></authors>
<commentList><comment ref="A1" authorId="0"><text><t>{NOTE}</t></text></comment>
</commentList></comments>"""
    overrides = {
        "xl/workbook.xml": f"{_OD}.spreadsheetml.sheet.main+xml",
        "xl/worksheets/sheet1.xml": f"{_OD}.spreadsheetml.worksheet+xml",
        "xl/sharedStrings.xml": f"{_OD}.spreadsheetml.sharedStrings+xml",
        "xl/comments1.xml": f"{_OD}.spreadsheetml.comments+xml",
        **_ooxml_common_overrides(),
    }
    members = [
        ("[Content_Types].xml", _content_types(overrides, _DEFAULTS)),
        ("_rels/.rels", _package_rels("xl/workbook.xml")),
        ("docProps/core.xml", _CORE.encode()),
        ("docProps/app.xml", _APP.encode()),
        ("docProps/custom.xml", _CUSTOM.encode()),
        ("docProps/thumbnail.jpeg", gps_jpeg((8, 8))),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/worksheets/sheet1.xml", sheet.encode()),
        ("xl/sharedStrings.xml", shared.encode()),
        ("xl/comments1.xml", comments.encode()),
        (
            "xl/_rels/workbook.xml.rels",
            _rels(
                [
                    ("rId1", "worksheet", "worksheets/sheet1.xml"),
                    ("rId2", "sharedStrings", "sharedStrings.xml"),
                    ("rId3", "customXml", "../customXml/item1.xml"),
                ]
            ),
        ),
        ("xl/worksheets/_rels/sheet1.xml.rels", _rels([("rId1", "comments", "../comments1.xml")])),
        *_custom_xml(),
    ]
    write_zip(path, members)


def dirty_pptx(path: Path) -> None:
    """A PPTX with one slide of text and a picture, a comment author list and a
    dated comment."""
    p = "http://schemas.openxmlformats.org/presentationml/2006/main"
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    presentation = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:presentation xmlns:p="{p}" xmlns:r="{_R}"><p:sldIdLst><p:sldId id="256" r:id="rId1"/>
</p:sldIdLst></p:presentation>"""
    slide = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:sld xmlns:p="{p}" xmlns:a="{a}" xmlns:r="{_R}"><p:cSld><p:spTree><p:sp><p:txBody>
<a:p><a:r><a:t>{BODY}</a:t></a:r></a:p></p:txBody></p:sp><p:pic><p:nvPicPr>
<p:cNvPr id="2" name="Picture" descr="{USER_PATH}IMG_0042.jpg"/></p:nvPicPr>
<p:blipFill><a:blip r:embed="rId2"/></p:blipFill></p:pic></p:spTree></p:cSld></p:sld>"""
    authors = f"""<p:cmAuthorLst xmlns:p="{p}"><p:cmAuthor id="0" name="{AUTHOR}"
 initials="MD" lastIdx="1" clrIdx="0"/></p:cmAuthorLst>"""
    comments = f"""<p:cmLst xmlns:p="{p}"><p:cm authorId="0" dt="{DATE[:-1]}" idx="1">
<p:pos x="10" y="10"/><p:text>{NOTE}</p:text></p:cm></p:cmLst>"""
    overrides = {
        "ppt/presentation.xml": f"{_OD}.presentationml.presentation.main+xml",
        "ppt/slides/slide1.xml": f"{_OD}.presentationml.slide+xml",
        "ppt/commentAuthors.xml": f"{_OD}.presentationml.commentAuthors+xml",
        "ppt/comments/comment1.xml": f"{_OD}.presentationml.comments+xml",
        **_ooxml_common_overrides(),
    }
    members = [
        ("[Content_Types].xml", _content_types(overrides, _DEFAULTS)),
        ("_rels/.rels", _package_rels("ppt/presentation.xml")),
        ("docProps/core.xml", _CORE.encode()),
        ("docProps/app.xml", _APP.encode()),
        ("docProps/custom.xml", _CUSTOM.encode()),
        ("docProps/thumbnail.jpeg", gps_jpeg((8, 8))),
        ("ppt/presentation.xml", presentation.encode()),
        ("ppt/slides/slide1.xml", slide.encode()),
        ("ppt/commentAuthors.xml", authors.encode()),
        ("ppt/comments/comment1.xml", comments.encode()),
        ("ppt/media/image1.jpeg", gps_jpeg()),
        (
            "ppt/_rels/presentation.xml.rels",
            _rels(
                [
                    ("rId1", "slide", "slides/slide1.xml"),
                    ("rId2", "commentAuthors", "commentAuthors.xml"),
                ]
            ),
        ),
        (
            "ppt/slides/_rels/slide1.xml.rels",
            _rels(
                [
                    ("rId1", "comments", "../comments/comment1.xml"),
                    ("rId2", "image", "../media/image1.jpeg"),
                ]
            ),
        ),
        *_custom_xml(),
    ]
    write_zip(path, members)


# ------------------------------------------------------------------------- ODF

_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:officeooo="http://openoffice.org/2009/office" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"'
)


def dirty_odt(path: Path) -> None:
    """An ODT with an annotation, a tracked change, rsids, full meta.xml, settings
    naming a printer, a thumbnail and a GPS-tagged picture."""
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {_ODF_NS} office:version="1.3"><office:automatic-styles>
<style:style style:name="P1" style:family="paragraph"><style:text-properties
 officeooo:rsid="{RSID}" officeooo:paragraph-rsid="{RSID}"/></style:style>
</office:automatic-styles><office:body><office:text><text:tracked-changes>
<text:changed-region text:id="ct1"><text:insertion><office:change-info>
<dc:creator>{AUTHOR}</dc:creator><dc:date>{DATE[:-1]}</dc:date></office:change-info>
</text:insertion></text:changed-region></text:tracked-changes>
<text:p text:style-name="P1">{BODY}<office:annotation><dc:creator>{AUTHOR}</dc:creator>
<dc:date>{DATE[:-1]}</dc:date><meta:creator-initials>MD</meta:creator-initials>
<text:p>{NOTE}</text:p></office:annotation><text:change-start text:change-id="ct1"/>more
<text:change-end text:change-id="ct1"/></text:p>
<text:p><draw:frame draw:name="Image1"><draw:image xlink:href="Pictures/photo.jpg"
 xlink:type="simple"/></draw:frame></text:p></office:text></office:body>
</office:document-content>"""
    meta = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta {_ODF_NS} office:version="1.3"><office:meta>
<meta:initial-creator>{AUTHOR}</meta:initial-creator><dc:creator>{AUTHOR}</dc:creator>
<meta:creation-date>{DATE[:-1]}</meta:creation-date><dc:date>{DATE[:-1]}</dc:date>
<meta:generator>{SOFTWARE}</meta:generator><dc:title>Notes</dc:title>
<meta:editing-cycles>9</meta:editing-cycles>
<meta:user-defined meta:name="Email">{CUSTOM}</meta:user-defined>
</office:meta></office:document-meta>"""
    styles = f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {_ODF_NS}/>'
    settings = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-settings {_ODF_NS}><office:settings><config:config-item-set
 config:name="ooo:configuration-settings"><config:config-item config:name="PrinterName"
 config:type="string">HP LaserJet {AUTHOR}</config:config-item></config:config-item-set>
</office:settings></office:document-settings>"""
    manifest_ns = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
    entries = [
        ("/", "application/vnd.oasis.opendocument.text"),
        ("content.xml", "text/xml"),
        ("styles.xml", "text/xml"),
        ("meta.xml", "text/xml"),
        ("settings.xml", "text/xml"),
        ("Pictures/photo.jpg", "image/jpeg"),
        ("Thumbnails/thumbnail.png", "image/png"),
    ]
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        f'xmlns:manifest="{manifest_ns}" manifest:version="1.3">'
        + "".join(
            f'<manifest:file-entry manifest:full-path="{p}" manifest:media-type="{t}"/>'
            for p, t in entries
        )
        + "</manifest:manifest>"
    )
    members = [
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.encode()),
        ("styles.xml", styles.encode()),
        ("meta.xml", meta.encode()),
        ("settings.xml", settings.encode()),
        ("Pictures/photo.jpg", gps_jpeg()),
        ("Thumbnails/thumbnail.png", gps_png()),
        ("Configurations2/accelerator/current.xml", b""),
        ("META-INF/manifest.xml", manifest.encode()),
    ]
    write_zip(path, members, stored_first=True)
