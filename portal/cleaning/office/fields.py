"""Fields of office documents: kept only when their type is on a short list of harmless
ones; every other field loses the result it stored when it was last updated.

A field is text an application computes: a page number, or the author's name, the
file's path on the author's computer, the date it was printed. The computed text is
stored in the document, so it carries whatever the author's machine filled in, and
most applications show the stored text until the field is updated. What is harmless
is short: page numbers and counts, cross-references inside the document, the
document's own sequence numbers, tables of contents and index entries, and form fields
(what was typed into them is content). Dates computed when the file is opened
(``DATE``, PowerPoint's date and ODF's ``text:date`` unless fixed) stay as fields but
lose their stored result: it is the date the author's machine last updated them, and
the application fills in the reader's date on opening. A hyperlink to a web page or
an e-mail address stays; one to a file keeps its text, not the link.

Any other field is removed with its result (the instruction can hold a path:
``INCLUDEPICTURE "C:\\Users\\..."``; or a command: ``DDEAUTO``). In ODF, whose fields
are elements, the element stays with neither text nor value. Cached results of
spreadsheet formulas that read the file's own path or the computer's set-up
(``CELL``, ``INFO``) or the time of the last calculation (``NOW``, ``TODAY``) are
removed the same way.

Covered: WordprocessingML simple fields (``w:fldSimple``) and complex fields
(``w:fldChar`` begin/separate/end around ``w:instrText``, nested, each text box its
own story), DrawingML text fields (``a:fld``, in slides, charts and drawings), formulas
of SpreadsheetML and ODF cells, and ODF text fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from portal.cleaning.base import Category, Refusal, RefusalCode
from portal.cleaning.office.xml import (
    NS_ODF_TEXT,
    attribute,
    attributes,
    remove,
    set_text,
    split,
    text,
)

_W_NS = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
)
_A_NS = (
    "http://schemas.openxmlformats.org/drawingml/2006/main",
    "http://purl.oclc.org/ooxml/drawingml/main",
)
_S_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

# --- WordprocessingML field types, by the first word of the instruction ------------

#: Fields whose stored result is harmless: kept as they are.
_WORD_KEPT = {
    "PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION", "NUMWORDS", "NUMCHARS",
    "REF", "PAGEREF", "NOTEREF", "STYLEREF", "SEQ", "TOC", "TC", "XE", "INDEX",
    "LISTNUM", "AUTONUM", "AUTONUMLGL", "AUTONUMOUT", "SYMBOL", "EQ", "=",
    "FORMTEXT", "FORMCHECKBOX", "FORMDROPDOWN",
}  # fmt: skip
#: Fields computed when the file is opened: kept, without their stored result.
_WORD_AT_OPEN = {"DATE", "TIME"}
#: What the receipt says when other fields are removed (anything else: hidden data).
_WORD_REMOVED = {
    **dict.fromkeys(
        ("AUTHOR", "USERNAME", "USERINITIALS", "USERADDRESS", "LASTSAVEDBY", "DOCPROPERTY"),
        Category.AUTHOR,
    ),
    **dict.fromkeys(("CREATEDATE", "SAVEDATE", "PRINTDATE", "EDITTIME"), Category.DATES),
    **dict.fromkeys(
        ("FILENAME", "TEMPLATE", "INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "LINK",
         "DATABASE", "IMPORT", "HYPERLINK"),
        Category.FILE_PATHS,
    ),
    **dict.fromkeys(("DDE", "DDEAUTO", "MACROBUTTON"), Category.SCRIPTS),
    **dict.fromkeys(("TITLE", "SUBJECT", "KEYWORDS", "COMMENTS", "INFO"), Category.COMMENT),
    "REVNUM": Category.REVISIONS,
}  # fmt: skip
_INSTRUCTION_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WEB_TARGET = re.compile(r"^(?:https?://|mailto:)\S+$", re.I)

# --- DrawingML field types ----------------------------------------------------------

_DRAWING_KEPT = {"slidenum", "txlink"}

# --- Spreadsheet formulas whose cached value describes the author's machine ---------

_FORMULA_CATEGORIES = (
    (re.compile(r"\b(?:CELL|INFO)\s*\(", re.I), Category.FILE_PATHS),
    (re.compile(r"\b(?:NOW|TODAY)\s*\(", re.I), Category.DATES),
)
_ODF_CELL_VALUES = ("value", "date-value", "time-value", "boolean-value", "string-value")

# --- ODF text fields, by local name -------------------------------------------------

#: Text fields computed when the file is opened: their stored value goes unless fixed.
_ODF_AT_OPEN = {"date": Category.DATES, "time": Category.DATES}
#: Text fields that lose their stored result, and what the receipt says.
_ODF_REMOVED = {
    **dict.fromkeys(
        ("initial-creator", "creator", "author-name", "author-initials", "printed-by",
         "sender-firstname", "sender-lastname", "sender-initials", "sender-title",
         "sender-position", "sender-email", "sender-phone-private", "sender-fax",
         "sender-company", "sender-phone-work", "sender-street", "sender-city",
         "sender-postal-code", "sender-country", "sender-state-or-province"),
        Category.AUTHOR,
    ),
    **dict.fromkeys(
        ("creation-date", "creation-time", "modification-date", "modification-time",
         "print-date", "print-time", "editing-duration"),
        Category.DATES,
    ),
    "editing-cycles": Category.REVISIONS,
    **dict.fromkeys(
        ("file-name", "template-name", "database-display", "database-next",
         "database-row-select", "database-row-number", "database-name"),
        Category.FILE_PATHS,
    ),
    **dict.fromkeys(("title", "subject", "keywords", "description", "user-defined"),
                    Category.COMMENT),
}  # fmt: skip
#: Elements removed whole: scripts, and live links to other files.
_ODF_DROPPED = {
    (NS_ODF_TEXT, "script"): Category.SCRIPTS,
    (NS_ODF_TEXT, "execute-macro"): Category.SCRIPTS,
    (NS_ODF_TEXT, "dde-connection"): Category.FILE_PATHS,
    (NS_ODF_TEXT, "dde-connection-decls"): Category.FILE_PATHS,
    (_NS_TABLE, "dde-links"): Category.FILE_PATHS,
    (_NS_OFFICE, "dde-source"): Category.FILE_PATHS,
}
#: Attributes a field whose result is removed keeps (how it is shown, not what).
_ODF_FIELD_ATTRIBUTES = {"display", "data-style-name", "fixed"}


_W = [f"{{{uri}}}" for uri in _W_NS]
_FIELD_MARKS = [
    f"{w}{name}" for w in _W for name in ("fldChar", "fldSimple", "instrText", "delInstrText")
]
_ODF_DROPPED_TAGS = [f"{{{uri}}}{name}" for uri, name in _ODF_DROPPED]
_ODF_FIELD_TAGS = [f"{{{NS_ODF_TEXT}}}{name}" for name in (*_ODF_REMOVED, *_ODF_AT_OPEN)]


def clean(root: etree._Element, found: set[Category]) -> None:
    """Apply the field policy to one XML part; add what was removed to ``found``.
    The elements concerned are found by lxml, so a part without fields costs little
    however large it is."""
    _word_fields(root, found)
    for element in list(root.iter(*[f"{{{uri}}}fld" for uri in _A_NS])):
        _drawing_field(element, found)
    shared: dict[str, str] = {}
    for formula in list(root.iter(*[f"{{{uri}}}f" for uri in _S_NS])):
        cell = formula.getparent()
        if cell is not None and split(cell.tag)[1] == "c":
            _spreadsheet_cell(cell, shared, found)
    for element in list(root.iter(*_ODF_DROPPED_TAGS)):
        if element.getparent() is not None:
            found.add(_ODF_DROPPED[split(element.tag)])
            remove(element)
    for element in list(root.iter(*_ODF_FIELD_TAGS)):
        _odf_field(element, split(element.tag)[1], found)
    for cell in list(root.iter(f"{{{_NS_TABLE}}}table-cell")):
        if f"{{{_NS_TABLE}}}formula" in cell.attrib:
            _odf_cell(cell, found)


def _word_fields(root: etree._Element, found: set[Category]) -> None:
    """WordprocessingML fields, simple ones first (their runs are their result), then
    complex ones run by run. Each text box is a story of its own: fields do not cross
    into or out of it."""
    if next(root.iter(*_FIELD_MARKS), None) is None:
        return
    for element in list(root.iter(*[f"{w}fldSimple" for w in _W])):
        if element.getparent() is not None:
            _simple_field(element, found)
    boxes = [f"{w}txbxContent" for w in _W]
    stories: dict[etree._Element, _Story] = {}
    for run in list(root.iter(*[f"{w}r" for w in _W])):
        if run.getparent() is None:
            continue
        box = next(run.iterancestors(*boxes), root)
        story = stories.get(box)
        if story is None:
            story = stories[box] = _Story(found)
        story.run(run)
    for story in stories.values():
        story.finish()


# --- WordprocessingML complex fields --------------------------------------------------


@dataclass(eq=False)
class _Field:
    """One complex field: the nodes of its instruction (with its field characters) and
    of its result, and the fields nested in each."""

    instruction: list[str] = field(default_factory=list)
    in_result: bool = False
    code: list[etree._Element] = field(default_factory=list)
    result: list[etree._Element] = field(default_factory=list)
    nested_in_code: list[_Field] = field(default_factory=list)
    nested_in_result: list[_Field] = field(default_factory=list)

    def all_nodes(self) -> list[etree._Element]:
        nodes = self.code + self.result
        for nested in self.nested_in_code + self.nested_in_result:
            nodes += nested.all_nodes()
        return nodes


class _Story:
    """The fields of one story (the body, a header, a text box), read run by run."""

    def __init__(self, found: set[Category]) -> None:
        self.found = found
        self.open: list[_Field] = []
        self.fields: list[_Field] = []  # outermost fields, in order
        self.runs: list[etree._Element] = []

    def run(self, run: etree._Element) -> None:
        self.runs.append(run)
        for child in list(run):
            if not isinstance(child.tag, str):
                continue
            uri, name = split(child.tag)
            if uri not in _W_NS:
                self._content(child)
            elif name == "rPr":
                continue
            elif name == "fldChar":
                self._field_char(child)
            elif name in ("instrText", "delInstrText"):
                if not self.open or self.open[-1].in_result:
                    if (child.text or "").strip():  # shown nowhere: hidden
                        self.found.add(Category.HIDDEN_DATA)
                    remove(child)
                    continue
                self.open[-1].instruction.append(child.text or "")
                self.open[-1].code.append(child)
            else:
                self._content(child)

    def _content(self, node: etree._Element) -> None:
        if self.open:
            top = self.open[-1]
            (top.result if top.in_result else top.code).append(node)

    def _field_char(self, char: etree._Element) -> None:
        kind = attribute(char, "fldCharType")
        for child in list(char):
            name = split(child.tag)[1] if isinstance(child.tag, str) else ""
            if name == "fldData":  # an application's private data about the field
                self.found.add(Category.HIDDEN_DATA)
                char.remove(child)
            elif name == "ffData":
                for entry in list(child):
                    if isinstance(entry.tag, str) and split(entry.tag)[1] in (
                        "entryMacro",
                        "exitMacro",
                    ):
                        self.found.add(Category.SCRIPTS)
                        child.remove(entry)
        if kind == "begin":
            new = _Field(code=[char])
            if self.open:
                parent = self.open[-1]
                (parent.nested_in_result if parent.in_result else parent.nested_in_code).append(new)
            else:
                self.fields.append(new)
            self.open.append(new)
        elif kind == "separate" and self.open and not self.open[-1].in_result:
            self.open[-1].in_result = True
            self.open[-1].code.append(char)
        elif kind == "end" and self.open:
            self.open.pop().code.append(char)
        else:
            raise Refusal(RefusalCode.MALFORMED, "field characters out of order")

    def finish(self) -> None:
        if self.open:
            raise Refusal(RefusalCode.MALFORMED, "field without an end")
        doomed: list[etree._Element] = []
        for each in self.fields:
            doomed += _judge(each, self.found)
        for node in doomed:
            parent = node.getparent()
            if parent is not None:
                remove(node)
        for run in self.runs:
            if run.getparent() is not None and all(
                isinstance(c.tag, str) and split(c.tag)[1] == "rPr" for c in run
            ):
                remove(run)  # nothing left to show


def _field_type(instruction: str) -> str:
    words = instruction.strip().split(None, 1)
    if not words:
        return ""
    first = words[0].upper()
    return "=" if first.startswith("=") else first


def _harmless(instruction: str) -> bool:
    """Whether a field's stored result may stay: a harmless type, or a hyperlink to a
    web page, an e-mail address or a place in the document itself."""
    kind = _field_type(instruction)
    if kind != "HYPERLINK":
        return kind in _WORD_KEPT
    tokens = [(quoted, bare) for quoted, bare in _INSTRUCTION_TOKEN.findall(instruction)][1:]
    targets, switches, expect_argument = [], set(), False
    for quoted, bare in tokens:
        word = bare if bare else quoted
        if bare.startswith("\\"):
            switches.add(bare.lower())
            expect_argument = bare.lower() in ("\\l", "\\o", "\\t")
        elif expect_argument:
            expect_argument = False
        else:
            targets.append(word)
    if not targets:
        return "\\l" in switches  # a jump to a bookmark of this document
    return len(targets) == 1 and bool(_WEB_TARGET.match(targets[0]))


def _judge(each: _Field, found: set[Category]) -> list[etree._Element]:
    """The nodes to remove for one field and the fields nested in it."""
    instruction = "".join(each.instruction)
    kind = _field_type(instruction)
    doomed: list[etree._Element] = []
    if _harmless(instruction):
        for nested in each.nested_in_code + each.nested_in_result:
            doomed += _judge(nested, found)
    elif kind in _WORD_AT_OPEN:
        if any(text(node).strip() or len(node) for node in each.result) or each.nested_in_result:
            found.add(Category.DATES)
        doomed += _one_part(each.result, each.nested_in_result, each.nested_in_code, found)
    elif kind == "HYPERLINK":
        # A link to a file: the text stays, the link (and the path in it) goes.
        found.add(Category.FILE_PATHS)
        doomed += _one_part(each.code, each.nested_in_code, each.nested_in_result, found)
    else:
        found.add(_WORD_REMOVED.get(kind, Category.HIDDEN_DATA))
        doomed += each.all_nodes()
    return doomed


def _one_part(
    gone: list[etree._Element],
    gone_nested: list[_Field],
    kept_nested: list[_Field],
    found: set[Category],
) -> list[etree._Element]:
    """The nodes to remove when one part of a field goes (``gone``, with the fields
    nested in it) and the other stays (its nested fields judged on their own)."""
    doomed = list(gone)
    for nested in gone_nested:
        doomed += nested.all_nodes()
    for nested in kept_nested:
        doomed += _judge(nested, found)
    return doomed


def _simple_field(element: etree._Element, found: set[Category]) -> bool:
    """Apply the policy to a ``w:fldSimple``; True if it was removed whole."""
    instruction = attribute(element, "instr")
    for child in list(element):
        if isinstance(child.tag, str) and split(child.tag)[1] == "fldData":
            found.add(Category.HIDDEN_DATA)
            element.remove(child)
    kind = _field_type(instruction)
    if _harmless(instruction):
        return False
    if kind in _WORD_AT_OPEN:
        if len(element) or (element.text or "").strip():
            found.add(Category.DATES)
        set_text(element, "")
        return True
    found.add(_WORD_REMOVED.get(kind, Category.HIDDEN_DATA))
    if kind == "HYPERLINK":  # the text stays where the field was
        parent = element.getparent()
        if parent is not None:
            index = parent.index(element)
            for offset, child in enumerate(list(element)):
                parent.insert(index + offset, child)
    remove(element)
    return True


# --- DrawingML, spreadsheets, ODF -------------------------------------------------------


def _drawing_field(element: etree._Element, found: set[Category]) -> None:
    kind = (element.get("type") or "").lower()
    if kind in _DRAWING_KEPT:
        return
    for child in element:
        if isinstance(child.tag, str) and split(child.tag)[1] == "t" and (child.text or ""):
            found.add(Category.DATES if kind.startswith("datetime") else Category.HIDDEN_DATA)
            child.text = ""


def _formula_category(formula: str) -> Category | None:
    for pattern, category in _FORMULA_CATEGORIES:
        if pattern.search(formula):
            return category
    return None


def _spreadsheet_cell(cell: etree._Element, shared: dict[str, str], found: set[Category]) -> None:
    """A SpreadsheetML cell: its cached value goes when its formula reads the machine."""
    formula = value = None
    for child in cell:
        if not isinstance(child.tag, str):
            continue
        name = split(child.tag)[1]
        if name == "f":
            formula = child
        elif name in ("v", "is"):
            value = child
    if formula is None:
        return
    body = formula.text or ""
    index = formula.get("si")
    if formula.get("t") == "shared" and index is not None:
        if body:
            shared[index] = body
        else:
            body = shared.get(index, "")
    category = _formula_category(body)
    if category is not None and value is not None:
        found.add(category)
        remove(value)


def _odf_cell(cell: etree._Element, found: set[Category]) -> None:
    """An ODF cell: likewise, its cached value and text go."""
    formula = cell.get(f"{{{_NS_TABLE}}}formula")
    category = _formula_category(formula or "")
    if category is None:
        return
    values = [f"{{{_NS_OFFICE}}}{name}" for name in _ODF_CELL_VALUES]
    if len(cell) or any(key in cell.attrib for key in values):
        found.add(category)
    for key in values:
        if key in cell.attrib:
            del cell.attrib[key]
    set_text(cell, "")


def _odf_field(element: etree._Element, name: str, found: set[Category]) -> None:
    if name in _ODF_AT_OPEN and element.get(f"{{{NS_ODF_TEXT}}}fixed") == "true":
        return  # a date typed in once: content
    doomed = [k for k, _ in attributes(element) if split(k)[1] not in _ODF_FIELD_ATTRIBUTES]
    if text(element) or len(element) or doomed:
        found.add(_ODF_REMOVED.get(name) or _ODF_AT_OPEN[name])
    for key in doomed:
        del element.attrib[key]
    set_text(element, "")
