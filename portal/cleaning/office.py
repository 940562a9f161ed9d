"""Office documents (DOCX, XLSX, PPTX; ODT, ODS, ODP): rebuilt from an allow-list.

Recognised by bytes: a ZIP whose members include ``[Content_Types].xml`` (OOXML, the
kind then decided by the main part's content type) or whose first member is
``mimetype`` holding an OpenDocument type. Any other ZIP is left to the registry,
which refuses it as an archive.

The package is checked before anything is expanded: member count, declared sizes in
total and per member compression ratio (bombs), encrypted members, and member names
(absolute, ``..``, backslashes, NUL bytes, duplicates: path tricks are refused).

OOXML: only the parts reachable through relationships from the package root are
considered, and of those only document content (body, styles, numbering, settings,
fonts table, headers, footers, notes, comments, sheets, slides, themes, charts,
drawings) and media are kept. Core and extended properties are replaced by empty ones;
custom properties, thumbnails, custom XML, printer settings, people lists, embedded
objects, fonts and ActiveX are dropped, with their relationships and the references to
them. External relationships other than hyperlinks (remote templates and images) are
dropped. Macro-enabled documents are refused as active content.

ODF: content and styles are kept, ``meta.xml`` is replaced by an empty one, the
manifest is rebuilt for what is kept; settings (printer names), thumbnails,
embedded objects and configuration are dropped; macros are refused.

In every kept XML part: authors of comments and tracked changes become "Author",
their dates are removed (OOXML) or zeroed (ODF, where they are required), revision ids
(rsids), document and paragraph ids, template paths, document variables and picture
descriptions that are file paths are removed. Each picture, video or sound is cleaned
by the registry as an upload would be; one of a type it refuses (EMF, SVG, ...) is
dropped, one too large or too deeply nested refuses the document.

XML is parsed only with defusedxml (no DTDs, entities or external references) and
written back with minidom, which keeps namespace prefixes as they were: Office
resolves ``mc:Ignorable`` by prefix. The output ZIP has entries in a fixed order, all
dated 1980-01-01, without extra fields or comment.
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote
from xml.dom import minidom
from xml.parsers.expat import ExpatError

import defusedxml
import defusedxml.minidom

from portal.cleaning import registry
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
)

NEUTRAL_AUTHOR = "Author"
NEUTRAL_INITIALS = "A"
ODF_ZERO_DATE = "1970-01-01T00:00:00"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_OD = "application/vnd.openxmlformats-officedocument"
_OOXML_MAIN = {
    f"{_OD}.wordprocessingml.document.main+xml": (
        "DOCX",
        f"{_OD}.wordprocessingml.document",
        "docx",
    ),
    f"{_OD}.spreadsheetml.sheet.main+xml": ("XLSX", f"{_OD}.spreadsheetml.sheet", "xlsx"),
    f"{_OD}.presentationml.presentation.main+xml": (
        "PPTX",
        f"{_OD}.presentationml.presentation",
        "pptx",
    ),
}
_ODF_MAIN = {
    "application/vnd.oasis.opendocument.text": ("ODT", "odt"),
    "application/vnd.oasis.opendocument.spreadsheet": ("ODS", "ods"),
    "application/vnd.oasis.opendocument.presentation": ("ODP", "odp"),
}

# Content types of XML parts that are document content, kept after cleaning.
_KEPT_XML = {
    f"{_OD}.{suffix}"
    for suffix in (
        "wordprocessingml.document.main+xml",
        "wordprocessingml.styles+xml",
        "wordprocessingml.stylesWithEffects+xml",
        "wordprocessingml.numbering+xml",
        "wordprocessingml.settings+xml",
        "wordprocessingml.fontTable+xml",
        "wordprocessingml.footnotes+xml",
        "wordprocessingml.endnotes+xml",
        "wordprocessingml.header+xml",
        "wordprocessingml.footer+xml",
        "wordprocessingml.comments+xml",
        "spreadsheetml.sheet.main+xml",
        "spreadsheetml.worksheet+xml",
        "spreadsheetml.chartsheet+xml",
        "spreadsheetml.styles+xml",
        "spreadsheetml.sharedStrings+xml",
        "spreadsheetml.comments+xml",
        "spreadsheetml.table+xml",
        "spreadsheetml.calcChain+xml",
        "presentationml.presentation.main+xml",
        "presentationml.slide+xml",
        "presentationml.slideLayout+xml",
        "presentationml.slideMaster+xml",
        "presentationml.notesSlide+xml",
        "presentationml.notesMaster+xml",
        "presentationml.handoutMaster+xml",
        "presentationml.presProps+xml",
        "presentationml.viewProps+xml",
        "presentationml.tableStyles+xml",
        "presentationml.commentAuthors+xml",
        "presentationml.comments+xml",
        "theme+xml",
        "themeOverride+xml",
        "drawing+xml",
        "drawingml.chart+xml",
        "drawingml.chartshapes+xml",
        "drawingml.diagramData+xml",
        "drawingml.diagramLayout+xml",
        "drawingml.diagramStyle+xml",
        "drawingml.diagramColors+xml",
    )
} | {
    "application/vnd.ms-office.chartstyle+xml",
    "application/vnd.ms-office.chartcolorstyle+xml",
    "application/vnd.ms-office.drawingml.diagramDrawing+xml",
}
_CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
_APP_TYPE = f"{_OD}.extended-properties+xml"
_MEDIA_PREFIXES = ("image/", "video/", "audio/")

# Dropped parts, by a word in their content type or name, and what the receipt says.
_DROPPED_KINDS = (
    ("custom-properties", Category.COMMENT),
    ("thumbnail", Category.THUMBNAIL),
    ("people", Category.AUTHOR),
    ("person", Category.AUTHOR),
    ("printersettings", Category.HIDDEN_DATA),
    ("revision", Category.REVISIONS),
    ("usernames", Category.REVISIONS),
    ("commentsextended", Category.DATES),
    ("commentsextensible", Category.DATES),
    ("commentsids", None),
    ("websettings", None),
    ("customxml", Category.EMBEDDED),
)
_MACRO_WORDS = ("macroenabled", "vbaproject", "vbadata", "ms-office.activex+xml")

_NS_XMLNS = "http://www.w3.org/2000/xmlns/"
_NS_R = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_XLINK = "http://www.w3.org/1999/xlink"
_NS_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_NS_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"

# Elements removed whole wherever they appear, by local name.
_DROPPED_ELEMENTS = {
    "rsids": Category.REVISIONS,  # settings: every editing session's id
    "docId": Category.SERIAL,  # w14/w15: the document's GUID
    "attachedTemplate": Category.HIDDEN_DATA,  # path of the author's template
    "docVars": Category.HIDDEN_DATA,  # macro and add-in variables
    "mailMerge": Category.HIDDEN_DATA,  # data source path and query
    "absPath": Category.HIDDEN_DATA,  # x15ac: the folder the workbook was saved in
    "revisionPtr": Category.SERIAL,  # xr: document id of co-authoring
    "fileVersion": Category.SOFTWARE,  # Excel build number
    "creationId": Category.SERIAL,  # p14: random id of a slide
    "event-listeners": Category.EMBEDDED,  # ODF: scripts bound to events
    "scripts": Category.EMBEDDED,
}
# Elements that are nothing but a reference to a dropped part: removed with it.
_REFERENCE_ELEMENTS = {
    "embedRegular",
    "embedBold",
    "embedItalic",
    "embedBoldItalic",
    "attachedTemplate",
    "OLEObject",
    "oleObj",
    "externalData",
    "legacyDrawing",
    "legacyDrawingHF",
    "control",
    "altChunk",
    "subDoc",
    "externalReference",
    "regular",  # p:embeddedFont's font files
    "bold",
    "italic",
    "boldItalic",
}
# ODF fields that LibreOffice fills from the user's own data (Tools > Options > User
# Data) and recomputes on opening: the stored text is the sender's, whoever reads it.
_ODF_USER_FIELDS = {
    "author-name": NEUTRAL_AUTHOR,
    "author-initials": NEUTRAL_INITIALS,
    **{
        f"sender-{field}": ""
        for field in (
            "firstname", "lastname", "title", "position", "email", "phone-private",
            "fax", "company", "phone-work", "street", "city", "postal-code", "country",
            "state-or-province",
        )
    },
}  # fmt: skip
_ID_ATTRIBUTES = {"paraId", "textId", "durableId", "uid"}
_PATH_LIKE = re.compile(r"[\\/]|\.(?:jpe?g|png|gif|tiff?|bmp|heic|emf|wmf|svg)$", re.I)
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_EXTENSION_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "tif": "tiff"}

_RATIO_FLOOR = 1024 * 1024  # members smaller than this cannot be bombs
_MAX_XML_PART = 64 * 1024 * 1024  # minidom needs many times this in memory

_CORE_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
    b'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_APP_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties"/>'
)


def _odf_meta(version: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office='
        '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        f'office:version="{version}"><office:meta/></office:document-meta>'
    ).encode()


def _malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)


# ------------------------------------------------------------------ the package


def _checked_members(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """The file members, after refusing bombs, encryption and path tricks."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise Refusal(RefusalCode.TOO_LARGE, "too many members")
    seen: set[str] = set()
    total = 0
    files = []
    for info in infos:
        name = info.filename
        parts = name.rstrip("/").split("/")
        if (
            info.orig_filename != name
            or not name
            or "\\" in name
            or name.startswith("/")
            or any(part in ("", ".", "..") or ":" in part for part in parts)
        ):
            raise _malformed("member name with a path trick")
        if name.lower() in seen:
            raise _malformed("duplicate member name")
        seen.add(name.lower())
        if info.flag_bits & 0x1:
            raise Refusal(RefusalCode.ENCRYPTED, "encrypted member")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _malformed("unusual compression method")
        total += info.file_size
        if total > limits.max_expanded_bytes:
            raise Refusal(RefusalCode.TOO_LARGE, "members expand too far")
        ratio_limit = limits.max_compression_ratio * max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and info.file_size > ratio_limit:
            raise Refusal(RefusalCode.TOO_LARGE, "member compression ratio")
        if not info.is_dir():
            files.append(info)
    return files


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return zf.read(info)  # bounded by the declared size, CRC checked
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise _malformed(f"unreadable member: {type(exc).__name__}") from exc


def _parse(data: bytes) -> minidom.Document:
    if len(data) > _MAX_XML_PART:
        raise Refusal(RefusalCode.TOO_LARGE, "XML part too large")
    try:
        return defusedxml.minidom.parseString(data, forbid_dtd=True)
    except (ExpatError, defusedxml.DefusedXmlException, ValueError) as exc:
        raise _malformed(f"bad XML: {type(exc).__name__}") from exc


def _elements(node: minidom.Node):
    """Every element under ``node`` (inclusive), depth first, tolerant of removals."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.nodeType == current.ELEMENT_NODE:
            yield current
            if current.parentNode is None:
                continue  # the caller removed it: its children go with it
        stack.extend(reversed(current.childNodes))


def _set_text(element: minidom.Element, text: str) -> None:
    for child in list(element.childNodes):
        element.removeChild(child)
    element.appendChild(element.ownerDocument.createTextNode(text))


def _text(element: minidom.Element) -> str:
    return "".join(child.data for child in element.childNodes if child.nodeType == child.TEXT_NODE)


def _clean_xml(data: bytes, dropped_ids: set[str], found: set[Category]) -> bytes:
    """Neutralise authors, dates and ids in one XML part; remove references to
    dropped relationships. Adds what it met to ``found``."""
    doc = _parse(data)
    for element in _elements(doc.documentElement):
        if element.localName in _DROPPED_ELEMENTS:
            # LibreOffice writes an empty <office:scripts/> in every file: not news.
            if element.getElementsByTagName("*").length or element.attributes.length:
                found.add(_DROPPED_ELEMENTS[element.localName])
            element.parentNode.removeChild(element)
        elif _clean_attributes(element, dropped_ids, found):
            element.parentNode.removeChild(element)
        else:
            _clean_text(element, found)
    return doc.toxml(encoding="UTF-8")


def _clean_attributes(
    element: minidom.Element, dropped_ids: set[str], found: set[Category]
) -> bool:
    """Clean one element's attributes; True if the element must go."""
    local = element.localName
    for attr in list(element.attributes.values()):
        if attr.namespaceURI == _NS_XMLNS or attr.name.startswith("xmlns"):
            continue
        name, value = attr.localName or attr.name, attr.value

        def drop(category: Category | None, attr=attr) -> None:
            if category is not None:
                found.add(category)
            element.removeAttributeNode(attr)

        if "rsid" in name.lower():
            drop(Category.REVISIONS)
        elif name == "transformation":
            drop(None)  # ODF's GRDDL pointer to its RDF stylesheet: meta.xml is gone
        elif name in _ID_ATTRIBUTES:
            drop(Category.SERIAL)
        elif name == "author" or (name == "name" and local in ("cmAuthor", "author")):
            if value != NEUTRAL_AUTHOR:
                found.add(Category.AUTHOR)
                attr.value = NEUTRAL_AUTHOR
        elif name == "initials":
            if value != NEUTRAL_INITIALS:
                found.add(Category.AUTHOR)
                attr.value = NEUTRAL_INITIALS
        elif name in ("userId", "providerId", "userName"):  # userName: Excel fileSharing
            if value:
                found.add(Category.AUTHOR)
                attr.value = ""
        elif name in ("date", "dateUtc", "dt", "created") and attr.namespaceURI != _NS_XLINK:
            # Optional in OOXML wherever an author is named (w:ins, w:comment, p:cm).
            drop(Category.DATES)
        elif name in ("descr", "title") and _PATH_LIKE.search(value):
            drop(Category.HIDDEN_DATA)  # Word writes the picture's original path here
        elif name == "name" and local in ("docPr", "cNvPr") and _PATH_LIKE.search(value):
            found.add(Category.HIDDEN_DATA)  # the picture's original file name
            attr.value = "Picture"
        elif attr.namespaceURI in _NS_R and value in dropped_ids:
            if local in _REFERENCE_ELEMENTS:
                return True
            drop(None)
        elif (
            attr.namespaceURI == _NS_XLINK
            and name == "href"
            and local != "a"
            and (_URL_SCHEME.match(value) or value.startswith(("/", "../")))
        ):
            drop(Category.HIDDEN_DATA)  # ODF: a linked (remote or local) file
    return False


def _clean_text(element: minidom.Element, found: set[Category]) -> None:
    local, ns = element.localName, element.namespaceURI
    if ns == _NS_DC and local == "creator":
        if _text(element) != NEUTRAL_AUTHOR:
            found.add(Category.AUTHOR)
            _set_text(element, NEUTRAL_AUTHOR)
    elif ns == _NS_DC and local == "date":
        if _text(element) != ODF_ZERO_DATE:
            found.add(Category.DATES)
            _set_text(element, ODF_ZERO_DATE)
    elif local in ("creator-initials", "sender-initials"):
        if _text(element) != NEUTRAL_INITIALS:
            found.add(Category.AUTHOR)
            _set_text(element, NEUTRAL_INITIALS)
    elif ns == _NS_ODF_TEXT and local in _ODF_USER_FIELDS:
        neutral = _ODF_USER_FIELDS[local]
        if _text(element) != neutral or len(element.childNodes) > 1:
            found.add(Category.AUTHOR)
            _set_text(element, neutral)
    elif local == "author" and "spreadsheetml" in (ns or "") and _text(element) != NEUTRAL_AUTHOR:
        found.add(Category.AUTHOR)
        _set_text(element, NEUTRAL_AUTHOR)


_CORE_KINDS = {
    "creator": Category.AUTHOR,
    "lastModifiedBy": Category.AUTHOR,
    "created": Category.DATES,
    "modified": Category.DATES,
    "lastPrinted": Category.DATES,
    "revision": Category.REVISIONS,
    "identifier": Category.SERIAL,
}
_APP_KINDS = {
    "Application": Category.SOFTWARE,
    "AppVersion": Category.SOFTWARE,
    "Company": Category.AUTHOR,
    "Manager": Category.AUTHOR,
    "Template": Category.COMMENT,
    "HyperlinkBase": Category.COMMENT,
    "TitlesOfParts": Category.COMMENT,
    "TotalTime": Category.DATES,
}
_ODF_META_KINDS = {
    "initial-creator": Category.AUTHOR,
    "creator": Category.AUTHOR,
    "printed-by": Category.AUTHOR,
    "creation-date": Category.DATES,
    "date": Category.DATES,
    "print-date": Category.DATES,
    "editing-duration": Category.DATES,
    "generator": Category.SOFTWARE,
    "editing-cycles": Category.REVISIONS,
    "document-statistic": None,
}


def _properties(data: bytes, kinds: dict, default: Category | None) -> set[Category]:
    """What a properties part (core.xml, app.xml, meta.xml) says, by its elements."""
    doc = _parse(data)
    found: set[Category] = set()
    for element in _elements(doc.documentElement):
        if element is doc.documentElement or element.localName == "meta":
            continue
        if element.localName not in kinds and not (
            _text(element).strip() or element.attributes.length
        ):
            continue
        category = kinds.get(element.localName, default)
        if category is not None:
            found.add(category)
    return found


def _dropped_category(name: str, ctype: str) -> Category | None:
    key = f"{ctype} {name}".lower()
    for word, category in _DROPPED_KINDS:
        if word in key:
            return category
    return Category.EMBEDDED  # OLE objects, packages, fonts, ActiveX, anything else


def _same_extension(name: str, extension: str) -> bool:
    own = posixpath.splitext(name)[1].lstrip(".").lower()
    return _EXTENSION_ALIASES.get(own, own) == _EXTENSION_ALIASES.get(extension, extension)


class _Job:
    """One pass over a package. With ``workdir`` set, media are cleaned through the
    registry; without, they are only inspected (in ``scratch``)."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        limits: Limits,
        *,
        workdir: Path | None,
        scratch: Path,
        depth: int,
    ) -> None:
        self.zf = zf
        self.limits = limits
        self.workdir = workdir
        self.scratch = scratch
        self.depth = depth
        self.found: set[Category] = set()
        self.infos = {i.filename: i for i in _checked_members(zf, limits)}
        self.by_lower = {name.lower(): name for name in self.infos}

    def read(self, name: str) -> bytes:
        return _read(self.zf, self.infos[name])

    def media(self, name: str) -> bytes | None:
        """The cleaned picture/video/sound, or None if it has to be dropped."""
        data = self.read(name)
        if self.workdir is None:
            return data if self._inspect_nested(data) else None
        try:
            cleaned, result = registry.clean_bytes(data, self.workdir, self.limits, self.depth + 1)
        except Refusal as exc:
            self._droppable(exc)
            return None
        if not _same_extension(name, result.extension):
            self.found.add(Category.EMBEDDED)  # a changed format would not match its name
            return None
        self.found |= result.removed
        return cleaned

    def _droppable(self, refusal: Refusal) -> None:
        """A picture of a type nothing cleans (EMF, SVG, ...) or a broken one is dropped
        from the document; one that is too large, too deep or that broke a cleaner
        refuses the whole document."""
        if refusal.code in (RefusalCode.TOO_LARGE, RefusalCode.CLEANING_FAILED):
            raise Refusal(refusal.code, f"embedded media: {refusal.detail}") from refusal
        self.found.add(Category.EMBEDDED)

    def _inspect_nested(self, data: bytes) -> bool:
        path = self.scratch / f".office-media-{secrets.token_hex(8)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self.found |= registry.inspect_file(path, self.limits)[1]
            return True
        except Refusal as exc:
            self._droppable(exc)
            return False
        finally:
            path.unlink(missing_ok=True)


# ----------------------------------------------------------------------- OOXML


@dataclass
class _Ooxml:
    job: _Job
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    dropped_ids: dict[str, set[str]] = field(default_factory=dict)

    def content_type(self, name: str) -> str:
        override = self.overrides.get(name.lower())
        if override is not None:
            return override
        return self.defaults.get(posixpath.splitext(name)[1].lstrip(".").lower(), "")

    def load_types(self) -> minidom.Document:
        if "[Content_Types].xml" not in self.job.infos:
            raise _malformed("no content types")
        doc = _parse(self.job.read("[Content_Types].xml"))
        for element in _elements(doc.documentElement):
            if element.localName == "Default":
                ext = element.getAttribute("Extension").lower()
                self.defaults[ext] = element.getAttribute("ContentType")
            elif element.localName == "Override":
                part = unquote(element.getAttribute("PartName")).lstrip("/").lower()
                self.overrides[part] = element.getAttribute("ContentType")
        return doc

    def refuse_macros(self) -> None:
        for name in self.job.infos:
            key = f"{self.content_type(name)} {name}".lower()
            if any(word in key for word in _MACRO_WORDS):
                raise Refusal(RefusalCode.ACTIVE_CONTENT, "macros or ActiveX")

    @staticmethod
    def rels_name(source: str) -> str:
        folder, base = posixpath.split(source)
        return posixpath.join(folder, "_rels", f"{base}.rels")

    def resolve(self, source: str, target: str) -> str | None:
        target = unquote(target.split("#", 1)[0])
        if not target:
            return None
        if target.startswith("/"):
            path = posixpath.normpath(target.lstrip("/"))
        else:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
        if path.startswith("../") or path == "..":
            return None
        return self.job.by_lower.get(path.lower())

    def accept(self, name: str) -> bool:
        """Decide on one reachable part; its cleaned bytes go into ``kept``."""
        if name in self.kept:
            return True
        ctype = self.content_type(name)
        if name.lower() == "docprops/core.xml" or ctype == _CORE_TYPE:
            self.job.found |= _properties(self.job.read(name), _CORE_KINDS, Category.COMMENT)
            self.kept[name] = _CORE_XML
            return True
        if name.lower() == "docprops/app.xml" or ctype == _APP_TYPE:
            self.job.found |= _properties(self.job.read(name), _APP_KINDS, None)
            self.kept[name] = _APP_XML
            return True
        if name.lower().startswith("docprops/"):
            pass  # custom properties, thumbnails
        elif ctype in _KEPT_XML:
            self.kept[name] = b""  # cleaned once every relationship is known
            return True
        elif ctype.startswith(_MEDIA_PREFIXES):
            cleaned = self.job.media(name)
            if cleaned is not None:
                self.kept[name] = cleaned
                return True
            return False
        category = _dropped_category(name, ctype)
        if category is not None:
            self.job.found.add(category)
        return False

    def walk(self) -> None:
        """Follow relationships from the package root; keep what is reachable and
        allowed; rewrite each relationships part for what is kept."""
        queue = [""]
        visited = {""}
        while queue:
            source = queue.pop(0)
            rels = self.rels_name(source) if source else "_rels/.rels"
            rels = self.job.by_lower.get(rels.lower())
            if rels is None:
                continue
            doc = _parse(self.job.read(rels))
            dropped: set[str] = set()
            for rel in list(_elements(doc.documentElement)):
                if rel.localName != "Relationship":
                    continue
                rid, kind = rel.getAttribute("Id"), rel.getAttribute("Type")
                target = rel.getAttribute("Target")
                if rel.getAttribute("TargetMode") == "External":
                    if kind.endswith("/hyperlink"):
                        continue
                    self.job.found.add(_dropped_category(kind, "") or Category.HIDDEN_DATA)
                    keep = False
                else:
                    part = self.resolve(source, target)
                    keep = part is not None and self.accept(part)
                    if keep and part not in visited:
                        visited.add(part)
                        queue.append(part)
                if not keep:
                    dropped.add(rid)
                    rel.parentNode.removeChild(rel)
            self.dropped_ids[source] = dropped
            self.kept[rels] = doc.toxml(encoding="UTF-8")
        for name in self.job.infos:
            if name not in self.kept and name != "[Content_Types].xml":
                ctype = self.content_type(name)
                if ctype in _KEPT_XML:
                    self.job.found.add(Category.HIDDEN_DATA)  # an unreferenced part
                elif not name.lower().endswith(".rels"):
                    category = _dropped_category(name, ctype)
                    if category is not None:
                        self.job.found.add(category)

    def main_format(self) -> tuple[str, str, str]:
        rels = self.job.by_lower.get("_rels/.rels")
        if rels is None:
            raise _malformed("no package relationships")
        doc = _parse(self.job.read(rels))
        for rel in _elements(doc.documentElement):
            if rel.localName == "Relationship" and rel.getAttribute("Type").endswith(
                "/officeDocument"
            ):
                part = self.resolve("", rel.getAttribute("Target"))
                ctype = self.content_type(part) if part else ""
                if "macroenabled" in ctype.lower():
                    raise Refusal(RefusalCode.ACTIVE_CONTENT, "macro-enabled document")
                if ctype in _OOXML_MAIN:
                    return _OOXML_MAIN[ctype]
                raise Refusal(RefusalCode.UNKNOWN_TYPE, "unsupported OOXML kind")
        raise _malformed("no main document")

    def build(self, types: minidom.Document) -> list[tuple[str, bytes]]:
        for name, data in list(self.kept.items()):
            if data == b"":
                source_ids = self.dropped_ids.get(name, set())
                self.kept[name] = _clean_xml(self.job.read(name), source_ids, self.job.found)
        used_ext = {posixpath.splitext(n)[1].lstrip(".").lower() for n in self.kept}
        for element in list(_elements(types.documentElement)):
            if element.localName == "Default":
                if element.getAttribute("Extension").lower() not in used_ext:
                    element.parentNode.removeChild(element)
            elif element.localName == "Override":
                part = unquote(element.getAttribute("PartName")).lstrip("/").lower()
                if part not in {n.lower() for n in self.kept}:
                    element.parentNode.removeChild(element)
        members = [("[Content_Types].xml", types.toxml(encoding="UTF-8"))]
        return members + sorted(self.kept.items())


def _ooxml(job: _Job) -> tuple[tuple[str, str, str], list[tuple[str, bytes]]]:
    package = _Ooxml(job)
    types = package.load_types()
    package.refuse_macros()
    kind = package.main_format()
    package.walk()
    return kind, package.build(types)


# ------------------------------------------------------------------------- ODF

_ODF_KEPT_XML = {"content.xml", "styles.xml"}
_ODF_DROPPED = (
    ("settings.xml", Category.HIDDEN_DATA),  # printer names and set-up, view state
    ("Thumbnails/", Category.THUMBNAIL),
    ("META-INF/documentsignatures.xml", Category.AUTHOR),
    ("META-INF/macrosignatures.xml", Category.AUTHOR),
    ("Configurations2/", None),
    ("manifest.rdf", None),
    ("layout-cache", None),
)
_ODF_MACRO_FOLDERS = ("Basic/", "Scripts/", "Dialogs/")


def _odf(job: _Job, mimetype: str) -> tuple[tuple[str, str, str], list[tuple[str, bytes]]]:
    fmt, extension = _ODF_MAIN[mimetype]
    if "META-INF/manifest.xml" not in job.infos:
        raise _malformed("no manifest")
    manifest = _parse(job.read("META-INF/manifest.xml"))
    for element in _elements(manifest.documentElement):
        if element.localName == "encryption-data":
            raise Refusal(RefusalCode.ENCRYPTED, "encrypted ODF member")
    kept: dict[str, bytes] = {}
    version = "1.2"
    for name in job.infos:
        if name in ("mimetype", "META-INF/manifest.xml"):
            continue
        if name.startswith(_ODF_MACRO_FOLDERS):
            raise Refusal(RefusalCode.ACTIVE_CONTENT, "ODF macros or scripts")
        if name in _ODF_KEPT_XML:
            kept[name] = _clean_xml(job.read(name), set(), job.found)
        elif name == "meta.xml":
            meta = job.read(name)
            job.found |= _properties(meta, _ODF_META_KINDS, Category.COMMENT)
            root = _parse(meta).documentElement
            declared = root.getAttribute("office:version")
            version = declared if re.fullmatch(r"\d\.\d", declared) else version
            kept[name] = b""  # written below, once the version is known
        elif name.startswith(("Pictures/", "Media/")):
            cleaned = job.media(name)
            if cleaned is not None:
                kept[name] = cleaned
        else:
            for prefix, category in _ODF_DROPPED:
                if name.startswith(prefix):
                    if category is not None:
                        job.found.add(category)
                    break
            else:
                job.found.add(Category.EMBEDDED)  # embedded objects and their previews
    if "meta.xml" in kept:
        kept["meta.xml"] = _odf_meta(version)
    for element in list(_elements(manifest.documentElement)):
        if element.localName == "file-entry":
            path = element.getAttributeNS(_NS_MANIFEST, "full-path")
            if path != "/" and path not in kept:
                element.parentNode.removeChild(element)
    kept["META-INF/manifest.xml"] = manifest.toxml(encoding="UTF-8")
    members = [("mimetype", mimetype.encode("ascii")), *sorted(kept.items())]
    return (fmt, mimetype, extension), members


# --------------------------------------------------------------------- the module


def _write_zip(dst: Path, members: list[tuple[str, bytes]], *, first_stored: bool) -> None:
    with zipfile.ZipFile(dst, "w") as zf:
        for index, (name, data) in enumerate(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            stored = first_stored and index == 0
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def _odf_mimetype(zf: zipfile.ZipFile) -> str | None:
    infos = zf.infolist()
    if not infos or infos[0].filename != "mimetype" or infos[0].file_size > 100:
        return None
    value = zf.read(infos[0]).decode("ascii", "replace").strip()
    return value if value.startswith("application/vnd.oasis.opendocument.") else None


def _open_zip(src: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise _malformed("unreadable ZIP") from exc


class OfficeCleaner(FormatCleaner):
    family = "office"

    def sniff(self, head: bytes, path: Path) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        # The first local header names the first member: enough for a damaged file.
        if head[30:49] == b"[Content_Types].xml" or head[30:38] == b"mimetype":
            return True
        try:
            with zipfile.ZipFile(path) as zf:
                if any(i.filename == "[Content_Types].xml" for i in zf.infolist()):
                    return True
                return _odf_mimetype(zf) is not None
        except Exception:  # sniff never raises; the registry decides
            return False

    def _run(
        self, src: Path, limits: Limits, workdir: Path | None, depth: int
    ) -> tuple[tuple[str, str, str], list[tuple[str, bytes]], set[Category], bool]:
        with _open_zip(src) as zf:
            job = _Job(zf, limits, workdir=workdir, scratch=src.parent, depth=depth)
            if "[Content_Types].xml" in job.infos:
                kind, members = _ooxml(job)
                return kind, members, job.found, False
            try:
                mimetype = _odf_mimetype(zf)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise _malformed("unreadable mimetype") from exc
            if mimetype is None:
                raise Refusal(RefusalCode.ARCHIVE, "not an office document")
            if mimetype not in _ODF_MAIN:
                raise Refusal(RefusalCode.UNKNOWN_TYPE, "unsupported OpenDocument kind")
            kind, members = _odf(job, mimetype)
            return kind, members, job.found, True

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        return self._run(src, limits, None, 0)[2]

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        (fmt, mime, extension), members, found, is_odf = self._run(src, limits, dst.parent, depth)
        _write_zip(dst, members, first_stored=is_odf)
        return Cleaned(
            kind="document",
            format=fmt,
            mime=mime,
            extension=extension,
            removed=frozenset(found),
        )


CLEANER = OfficeCleaner()
