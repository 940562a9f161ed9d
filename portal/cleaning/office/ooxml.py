"""OOXML documents (DOCX, XLSX, PPTX), rebuilt from what their relationships reach.

Only the parts reachable through relationships from the package root are considered,
and of those only document content (body, styles, numbering, settings, fonts table,
headers, footers, notes, comments, sheets, slides, themes, charts, drawings) and media
are kept. Core and extended properties are replaced by empty ones; custom properties,
thumbnails, custom XML, printer settings, people lists, embedded objects, fonts and
ActiveX are dropped, with their relationships and the references to them. External
relationships other than hyperlinks (remote templates and images) are dropped.
Macro-enabled documents are refused as active content.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from portal.cleaning.base import Category, Refusal, RefusalCode
from portal.cleaning.office.package import Job, Rebuilt, malformed
from portal.cleaning.office.xml import elements, local, remove, serialise

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


def _dropped_category(name: str, ctype: str) -> Category | None:
    key = f"{ctype} {name}".lower()
    for word, category in _DROPPED_KINDS:
        if word in key:
            return category
    return Category.EMBEDDED  # OLE objects, packages, fonts, ActiveX, anything else


@dataclass
class _Ooxml:
    job: Job
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    dropped_ids: dict[str, set[str]] = field(default_factory=dict)

    def content_type(self, name: str) -> str:
        override = self.overrides.get(name.lower())
        if override is not None:
            return override
        return self.defaults.get(posixpath.splitext(name)[1].lstrip(".").lower(), "")

    def load_types(self) -> etree._Element:
        if "[Content_Types].xml" not in self.job.infos:
            raise malformed("no content types")
        root = self.job.parse(self.job.read("[Content_Types].xml"))
        for element in elements(root):
            if local(element) == "Default":
                ext = element.get("Extension", "").lower()
                self.defaults[ext] = element.get("ContentType", "")
            elif local(element) == "Override":
                part = unquote(element.get("PartName", "")).lstrip("/").lower()
                self.overrides[part] = element.get("ContentType", "")
        return root

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
            self.job.found |= self.job.properties(name, _CORE_KINDS, Category.COMMENT)
            self.kept[name] = _CORE_XML
            return True
        if name.lower() == "docprops/app.xml" or ctype == _APP_TYPE:
            self.job.found |= self.job.properties(name, _APP_KINDS, None)
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
            wanted = self.rels_name(source) if source else "_rels/.rels"
            rels = self.job.by_lower.get(wanted.lower())
            if rels is None:
                continue
            root = self.job.parse(self.job.read(rels))
            dropped: set[str] = set()
            for rel in list(elements(root)):
                if local(rel) != "Relationship":
                    continue
                rid, kind = rel.get("Id", ""), rel.get("Type", "")
                target = rel.get("Target", "")
                if rel.get("TargetMode") == "External":
                    if kind.endswith("/hyperlink"):
                        continue
                    self.job.found.add(_dropped_category(kind, "") or Category.HIDDEN_DATA)
                    keep = False
                else:
                    part = self.resolve(source, target)
                    keep = part is not None and self.accept(part)
                    if part is not None and keep and part not in visited:
                        visited.add(part)
                        queue.append(part)
                if not keep:
                    dropped.add(rid)
                    remove(rel)
            self.dropped_ids[source] = dropped
            self.kept[rels] = serialise(root)
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
            raise malformed("no package relationships")
        root = self.job.parse(self.job.read(rels))
        for rel in elements(root):
            if local(rel) == "Relationship" and rel.get("Type", "").endswith("/officeDocument"):
                part = self.resolve("", rel.get("Target", ""))
                ctype = self.content_type(part) if part else ""
                if "macroenabled" in ctype.lower():
                    raise Refusal(RefusalCode.ACTIVE_CONTENT, "macro-enabled document")
                if ctype in _OOXML_MAIN:
                    return _OOXML_MAIN[ctype]
                raise Refusal(RefusalCode.UNKNOWN_TYPE, "unsupported OOXML kind")
        raise malformed("no main document")

    def build(self, types: etree._Element) -> list[tuple[str, bytes]]:
        for name, data in list(self.kept.items()):
            if data == b"":
                source_ids = self.dropped_ids.get(name, set())
                self.kept[name] = self.job.clean_xml(name, source_ids)
        used_ext = {posixpath.splitext(n)[1].lstrip(".").lower() for n in self.kept}
        for element in list(elements(types)):
            if local(element) == "Default":
                if element.get("Extension", "").lower() not in used_ext:
                    remove(element)
            elif local(element) == "Override":
                part = unquote(element.get("PartName", "")).lstrip("/").lower()
                if part not in {n.lower() for n in self.kept}:
                    remove(element)
        members = [("[Content_Types].xml", serialise(types))]
        return members + sorted(self.kept.items())


def rebuild(job: Job) -> Rebuilt:
    """The cleaned OOXML package ``job`` reads."""
    package = _Ooxml(job)
    types = package.load_types()
    package.refuse_macros()
    fmt, mime, extension = package.main_format()
    package.walk()
    return Rebuilt(fmt, mime, extension, package.build(types), job.found)
