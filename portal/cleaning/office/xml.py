"""The XML parts of an office document: parsed safely within the budget, walked, and
cleaned.

XML is parsed with lxml (libxml2) with entities left unresolved, no network and no
DTD loading, and a part that declares a DTD at all is refused. Before a part is
parsed, its elements are counted from its bytes (an upper bound: every start tag is a
``<`` not followed by ``/``, ``?`` or ``!``) and charged to the file's
:class:`~portal.cleaning.budget.Budget`, so a part of millions of tiny elements is
refused before a tree is built for it; nesting deeper than ``Limits.max_xml_depth`` is
refused too. Namespace prefixes are written back as they were: Office resolves
``mc:Ignorable`` by prefix. Comments and processing instructions are dropped from
every part (no application shows them).

In every kept part (:func:`clean_xml`), whether OOXML or ODF: authors of comments and
tracked changes become "Author", their dates are removed (OOXML) or zeroed (ODF, where
they are required), revision ids (rsids), document and paragraph ids, template paths,
document variables and picture descriptions that are file paths are removed, and the
references to parts the package dropped go with them. Fields (:mod:`.fields`) keep
their stored result only when their type is on a short list of harmless ones.
:func:`properties` says what a properties part (core.xml, app.xml, meta.xml) held
before it is replaced.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

from lxml import etree

from portal.cleaning.base import Category, Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource

NEUTRAL_AUTHOR = "Author"
NEUTRAL_INITIALS = "A"
ODF_ZERO_DATE = "1970-01-01T00:00:00"

NS_R = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XLINK = "http://www.w3.org/1999/xlink"
NS_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

# Elements removed whole wherever they appear, by local name.
_DROPPED_ELEMENTS = {
    "rsids": Category.REVISIONS,  # settings: every editing session's id
    "docId": Category.SERIAL,  # w14/w15: the document's GUID
    "attachedTemplate": Category.FILE_PATHS,  # path of the author's template
    "docVars": Category.HIDDEN_DATA,  # macro and add-in variables
    "mailMerge": Category.FILE_PATHS,  # data source path and query
    "absPath": Category.FILE_PATHS,  # x15ac: the folder the workbook was saved in
    "revisionPtr": Category.SERIAL,  # xr: document id of co-authoring
    "fileVersion": Category.SOFTWARE,  # Excel build number
    "creationId": Category.SERIAL,  # p14: random id of a slide
    "event-listeners": Category.SCRIPTS,  # ODF: scripts bound to events
    "scripts": Category.SCRIPTS,
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
_ID_ATTRIBUTES = {"paraId", "textId", "durableId", "uid"}
_PATH_LIKE = re.compile(r"[\\/]|\.(?:jpe?g|png|gif|tiff?|bmp|heic|emf|wmf|svg)$", re.I)
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MAX_XML_PART = 64 * 1024 * 1024  # a tree takes several times this in memory
_UTF16_OR_32 = (b"\xfe\xff", b"\xff\xfe", b"\x00\x00", b"\x00<", b"<\x00")


@functools.lru_cache(maxsize=4096)  # a part has few distinct tags; a hostile one, many
def split(tag: str) -> tuple[str, str]:
    """An lxml tag ("{uri}name" or "name") as (namespace, local name)."""
    if tag[:1] == "{":
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def local(element: etree._Element) -> str:
    return split(element.tag)[1]


def namespace(element: etree._Element) -> str:
    return split(element.tag)[0]


def element_bound(data: bytes) -> int:
    """At least as many as the elements in ``data``, counted without parsing it."""
    if data.lstrip()[:2] in _UTF16_OR_32:
        return data.count(b"<")  # "<" may be one byte of a wider character
    # In UTF-8 (and the single-byte encodings) a 0x3C byte is always "<".
    return data.count(b"<") - data.count(b"</") - data.count(b"<?") - data.count(b"<!")


def parse(data: bytes, budget: Budget, limits: Limits) -> etree._Element:
    """The root element of one XML part, its elements charged to ``budget``."""
    if len(data) > _MAX_XML_PART:
        raise Refusal(RefusalCode.TOO_LARGE, "XML part too large")
    if not budget.allows(Resource.XML_ELEMENTS, element_bound(data)):
        raise Refusal(RefusalCode.TOO_COMPLEX, "too many XML elements")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        if "depth" in str(exc).lower():
            raise Refusal(RefusalCode.TOO_COMPLEX, "XML nested too deep") from exc
        raise Refusal(RefusalCode.MALFORMED, "bad XML") from exc
    except ValueError as exc:
        raise Refusal(RefusalCode.MALFORMED, "bad XML") from exc
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise Refusal(RefusalCode.MALFORMED, "XML with a DTD")
    if root.xpath("boolean(" + "/*" * (limits.max_xml_depth + 1) + ")"):
        raise Refusal(RefusalCode.TOO_COMPLEX, "XML nested too deep")
    count = root.xpath("count(//*)")
    assert isinstance(count, float)
    budget.spend(Resource.XML_ELEMENTS, int(count), "too many XML elements")
    return root


def serialise(root: etree._Element) -> bytes:
    """The part's bytes, UTF-8 with an XML declaration."""
    tree = root.getroottree()
    if tree.docinfo.standalone:
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", standalone=True)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def attributes(element: etree._Element) -> list[tuple[str, str]]:
    """``element``'s attributes as (lxml name, value), in a list the caller may change
    the element under."""
    return [(str(key), str(value)) for key, value in element.attrib.items()]


def attribute(element: etree._Element, name: str) -> str:
    """The value of ``element``'s attribute of local name ``name`` ("" if none)."""
    return next((value for key, value in attributes(element) if split(key)[1] == name), "")


def elements(node: etree._Element | None) -> Iterator[etree._Element]:
    """Every element under ``node`` (inclusive), depth first, tolerant of removals:
    an element the caller removes is not descended into."""
    stack = [] if node is None else [node]
    while stack:
        current = stack.pop()
        yield current
        if current.getparent() is None and current is not node:
            continue  # the caller removed it: its children go with it
        stack.extend(reversed([c for c in current if isinstance(c.tag, str)]))


def remove(node: etree._Element) -> None:
    """Take ``node`` (and all it holds) out of its document; the text that followed
    it stays where it was."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def text(element: etree._Element) -> str:
    """The text directly in ``element`` (not in its children)."""
    return "".join([element.text or "", *(child.tail or "" for child in element)])


def set_text(element: etree._Element, value: str) -> None:
    """Replace whatever ``element`` holds by ``value``."""
    for child in list(element):
        element.remove(child)
    element.text = value


def _tags(names: object) -> list[str]:
    """lxml tag patterns matching ``names`` in any namespace."""
    return [f"{{*}}{name}" for name in names]  # type: ignore[attr-defined]


# Elements holding an attribute _clean_attributes may change, found by libxml2 (a part
# of a million elements is mostly walked in C, not in Python).
_ATTRIBUTE_NAMES = (
    "transformation", "author", "initials", "userId", "providerId", "userName", "date",
    "dateUtc", "dt", "created", "descr", "title", *_ID_ATTRIBUTES,
)  # fmt: skip
_ELEMENTS_WITH_ATTRIBUTES = (
    "//*[@*["
    "contains(translate(local-name(), 'RSID', 'rsid'), 'rsid')"
    + "".join(f" or local-name() = '{name}'" for name in _ATTRIBUTE_NAMES)
    + " or (local-name() = 'name' and (local-name(..) = 'cmAuthor'"
    " or local-name(..) = 'author' or local-name(..) = 'docPr' or local-name(..) = 'cNvPr'))"
    + "".join(f" or namespace-uri() = '{uri}'" for uri in (*NS_R, NS_XLINK))
    + "]]"
)
_TEXT_TAGS = (
    f"{{{_NS_DC}}}creator",
    f"{{{_NS_DC}}}date",
    "{*}creator-initials",
    "{*}sender-initials",
    "{*}author",
)


def clean_xml(
    data: bytes, dropped_ids: set[str], found: set[Category], budget: Budget, limits: Limits
) -> bytes:
    """Neutralise authors, dates, ids and fields in one XML part; remove references to
    dropped relationships. Adds what it met to ``found``."""
    from portal.cleaning.office import fields

    root = parse(data, budget, limits)
    for element in list(root.iter(*_tags(_DROPPED_ELEMENTS))):
        # LibreOffice writes an empty <office:scripts/> in every file: not news.
        if len(element) or element.attrib:
            found.add(_DROPPED_ELEMENTS[local(element)])
        remove(element)
    holders = root.xpath(_ELEMENTS_WITH_ATTRIBUTES)
    for holder in holders if isinstance(holders, list) else []:
        if isinstance(holder, etree._Element) and _clean_attributes(holder, dropped_ids, found):
            remove(holder)
    for element in list(root.iter(*_TEXT_TAGS)):
        _clean_text(element, found)
    fields.clean(root, found)
    return serialise(root)


def _clean_attributes(element: etree._Element, dropped_ids: set[str], found: set[Category]) -> bool:
    """Clean one element's attributes; True if the element must go."""
    owner = local(element)
    values = element.attrib
    for key, value in attributes(element):
        uri, name = split(key)

        def drop(category: Category | None, key: str = key) -> None:
            if category is not None:
                found.add(category)
            del values[key]

        if "rsid" in name.lower():
            drop(Category.REVISIONS)
        elif name == "transformation":
            drop(None)  # ODF's GRDDL pointer to its RDF stylesheet: meta.xml is gone
        elif name in _ID_ATTRIBUTES:
            drop(Category.SERIAL)
        elif name == "author" or (name == "name" and owner in ("cmAuthor", "author")):
            if value != NEUTRAL_AUTHOR:
                found.add(Category.AUTHOR)
                values[key] = NEUTRAL_AUTHOR
        elif name == "initials":
            if value != NEUTRAL_INITIALS:
                found.add(Category.AUTHOR)
                values[key] = NEUTRAL_INITIALS
        elif name in ("userId", "providerId", "userName"):  # userName: Excel fileSharing
            if value:
                found.add(Category.AUTHOR)
                values[key] = ""
        elif name in ("date", "dateUtc", "dt", "created") and uri != NS_XLINK:
            # Optional in OOXML wherever an author is named (w:ins, w:comment, p:cm).
            drop(Category.DATES)
        elif name in ("descr", "title") and _PATH_LIKE.search(value):
            drop(Category.FILE_PATHS)  # Word writes the picture's original path here
        elif name == "name" and owner in ("docPr", "cNvPr") and _PATH_LIKE.search(value):
            found.add(Category.FILE_PATHS)  # the picture's original file name
            values[key] = "Picture"
        elif uri in NS_R and value in dropped_ids:
            if owner in _REFERENCE_ELEMENTS:
                return True
            drop(None)
        elif (
            uri == NS_XLINK
            and name == "href"
            and owner != "a"
            and (_URL_SCHEME.match(value) or value.startswith(("/", "../")))
        ):
            drop(Category.FILE_PATHS)  # ODF: a linked (remote or local) file
    return False


def _clean_text(element: etree._Element, found: set[Category]) -> None:
    uri, name = split(element.tag)
    if uri == _NS_DC and name == "creator":
        if text(element) != NEUTRAL_AUTHOR or len(element):
            found.add(Category.AUTHOR)
            set_text(element, NEUTRAL_AUTHOR)
    elif uri == _NS_DC and name == "date":
        if text(element) != ODF_ZERO_DATE or len(element):
            found.add(Category.DATES)
            set_text(element, ODF_ZERO_DATE)
    elif name in ("creator-initials", "sender-initials") and uri != NS_ODF_TEXT:
        if text(element) != NEUTRAL_INITIALS or len(element):
            found.add(Category.AUTHOR)
            set_text(element, NEUTRAL_INITIALS)
    elif name == "author" and "spreadsheetml" in uri and text(element) != NEUTRAL_AUTHOR:
        found.add(Category.AUTHOR)
        set_text(element, NEUTRAL_AUTHOR)


def properties(
    data: bytes,
    kinds: Mapping[str, Category | None],
    default: Category | None,
    budget: Budget,
    limits: Limits,
) -> set[Category]:
    """What a properties part (core.xml, app.xml, meta.xml) says, by its elements."""
    root = parse(data, budget, limits)
    found: set[Category] = set()
    for element in elements(root):
        name = local(element)
        if element is root or name == "meta":
            continue
        if name not in kinds and not (text(element).strip() or element.attrib):
            continue
        category = kinds.get(name, default)
        if category is not None:
            found.add(category)
    return found
