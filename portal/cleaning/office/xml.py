"""The XML parts of an office document: parsed safely, walked, and cleaned.

XML is parsed only with defusedxml (no DTDs, entities or external references) and
written back with minidom, which keeps namespace prefixes as they were: Office
resolves ``mc:Ignorable`` by prefix.

In every kept part (:func:`clean_xml`), whether OOXML or ODF: authors of comments and
tracked changes become "Author", their dates are removed (OOXML) or zeroed (ODF, where
they are required), revision ids (rsids), document and paragraph ids, template paths,
document variables and picture descriptions that are file paths are removed, and the
references to parts the package dropped go with them. :func:`properties` says what a
properties part (core.xml, app.xml, meta.xml) held before it is replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from xml.dom import minidom
from xml.parsers.expat import ExpatError

import defusedxml
import defusedxml.minidom

from portal.cleaning.base import Category, Refusal, RefusalCode

NEUTRAL_AUTHOR = "Author"
NEUTRAL_INITIALS = "A"
ODF_ZERO_DATE = "1970-01-01T00:00:00"

_NS_XMLNS = "http://www.w3.org/2000/xmlns/"
_NS_R = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_XLINK = "http://www.w3.org/1999/xlink"
_NS_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

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
_MAX_XML_PART = 64 * 1024 * 1024  # minidom needs many times this in memory


def parse(data: bytes) -> minidom.Document:
    if len(data) > _MAX_XML_PART:
        raise Refusal(RefusalCode.TOO_LARGE, "XML part too large")
    try:
        doc: minidom.Document = defusedxml.minidom.parseString(data, forbid_dtd=True)
    except (ExpatError, defusedxml.DefusedXmlException, ValueError) as exc:
        raise Refusal(RefusalCode.MALFORMED, f"bad XML: {type(exc).__name__}") from exc
    return doc


def elements(node: minidom.Node | None) -> Iterator[minidom.Element]:
    """Every element under ``node`` (inclusive), depth first, tolerant of removals.
    None (minidom's type for a root element that could be missing) has none."""
    stack = [] if node is None else [node]
    while stack:
        current = stack.pop()
        if isinstance(current, minidom.Element):
            yield current
            if current.parentNode is None:
                continue  # the caller removed it: its children go with it
        stack.extend(reversed(current.childNodes))


def remove(node: minidom.Element) -> None:
    """Take ``node`` (and all it holds) out of its document."""
    parent = node.parentNode
    if parent is not None:
        parent.removeChild(node)


def _set_text(element: minidom.Element, text: str) -> None:
    for child in list(element.childNodes):
        element.removeChild(child)
    text_node = minidom.Text()
    text_node.data = text
    element.appendChild(text_node)


def _text(element: minidom.Element) -> str:
    return "".join(child.data for child in element.childNodes if child.nodeType == child.TEXT_NODE)


def clean_xml(data: bytes, dropped_ids: set[str], found: set[Category]) -> bytes:
    """Neutralise authors, dates and ids in one XML part; remove references to
    dropped relationships. Adds what it met to ``found``."""
    doc = parse(data)
    for element in elements(doc.documentElement):
        if element.localName in _DROPPED_ELEMENTS:
            # LibreOffice writes an empty <office:scripts/> in every file: not news.
            if element.getElementsByTagName("*").length or element.attributes.length:
                found.add(_DROPPED_ELEMENTS[element.localName])
            remove(element)
        elif _clean_attributes(element, dropped_ids, found):
            remove(element)
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

        def drop(category: Category | None, attr: minidom.Attr = attr) -> None:
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


def properties(
    data: bytes, kinds: Mapping[str, Category | None], default: Category | None
) -> set[Category]:
    """What a properties part (core.xml, app.xml, meta.xml) says, by its elements."""
    doc = parse(data)
    found: set[Category] = set()
    for element in elements(doc.documentElement):
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
