"""OpenDocument files (ODT, ODS, ODP), rebuilt from an allow-list of members.

Content and styles are kept and cleaned as XML, ``meta.xml`` is replaced by an empty
one, pictures and media are cleaned, and the manifest is rebuilt for what is kept;
settings (printer names), thumbnails, signatures, embedded objects and configuration
are dropped; macros and scripts are refused, and so are encrypted members.
"""

from __future__ import annotations

import re

from portal.cleaning.base import Category, Refusal, RefusalCode
from portal.cleaning.office.package import Job, Rebuilt, malformed
from portal.cleaning.office.xml import elements, local, remove, serialise

_ODF_MAIN = {
    "application/vnd.oasis.opendocument.text": ("ODT", "odt"),
    "application/vnd.oasis.opendocument.spreadsheet": ("ODS", "ods"),
    "application/vnd.oasis.opendocument.presentation": ("ODP", "odp"),
}
_NS_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
_NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

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


def rebuild(job: Job, mimetype: str) -> Rebuilt:
    """The cleaned OpenDocument package ``job`` reads, whose ``mimetype`` member
    names ``mimetype``."""
    if mimetype not in _ODF_MAIN:
        raise Refusal(RefusalCode.UNKNOWN_TYPE, "unsupported OpenDocument kind")
    fmt, extension = _ODF_MAIN[mimetype]
    if "META-INF/manifest.xml" not in job.infos:
        raise malformed("no manifest")
    manifest = job.parse(job.read("META-INF/manifest.xml"))
    for element in elements(manifest):
        if local(element) == "encryption-data":
            raise Refusal(RefusalCode.ENCRYPTED, "encrypted ODF member")
    kept: dict[str, bytes] = {}
    version = "1.2"
    for name in job.infos:
        if name in ("mimetype", "META-INF/manifest.xml"):
            continue
        if name.startswith(_ODF_MACRO_FOLDERS):
            raise Refusal(RefusalCode.ACTIVE_CONTENT, "ODF macros or scripts")
        if name in _ODF_KEPT_XML:
            kept[name] = job.clean_xml(name, set())
        elif name == "meta.xml":
            job.found |= job.properties(name, _ODF_META_KINDS, Category.COMMENT)
            declared = job.parse(job.read(name)).get(f"{{{_NS_OFFICE}}}version", "")
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
    for element in list(elements(manifest)):
        if local(element) == "file-entry":
            path = element.get(f"{{{_NS_MANIFEST}}}full-path", "")
            if path != "/" and path not in kept:
                remove(element)
    kept["META-INF/manifest.xml"] = serialise(manifest)
    members = [("mimetype", mimetype.encode("ascii")), *sorted(kept.items())]
    return Rebuilt(fmt, mimetype, extension, members, job.found, first_stored=True)


def _odf_meta(version: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office='
        '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        f'office:version="{version}"><office:meta/></office:document-meta>'
    ).encode()
