"""The ZIP package of an office document: checked before anything is expanded, read
member by member, its media cleaned through the registry, and written back in a
fixed form.

Checked first, before :mod:`zipfile` reads anything: the number of entries in the
central directory (:mod:`.entries`), against the file's
:class:`~portal.cleaning.budget.Budget`. Then, from the central directory: declared
sizes in total and per member compression ratio (bombs), encrypted members, and member
names (absolute, ``..``, backslashes, NUL bytes, duplicates: path tricks are refused).
Every XML part parsed is charged to the same budget (:mod:`.xml`).

Each picture, video or sound is cleaned by the registry as an upload would be; one of
a type it refuses (EMF, SVG, ...) is dropped, one too large or too deeply nested
refuses the document. The output ZIP has entries in a fixed order, all dated
1980-01-01, without extra fields or comment.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from portal.cleaning import registry
from portal.cleaning.base import Category, Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.office import xml

ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_EXTENSION_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "tif": "tiff"}

_RATIO_FLOOR = 1024 * 1024  # members smaller than this cannot be bombs


def malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)


@dataclass(frozen=True)
class Rebuilt:
    """A cleaned package, ready to be written: what it is, its members in the order
    they are written, and what the original carried."""

    format: str  # "DOCX", "ODT", ...
    mime: str
    extension: str
    members: list[tuple[str, bytes]]
    found: set[Category]
    first_stored: bool = False  # ODF: the mimetype member comes first, uncompressed

    def write(self, dst: Path, limits: Limits) -> None:
        with zipfile.ZipFile(dst, "w") as zf:
            for index, (name, data) in enumerate(self.members):
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                stored = (self.first_stored and index == 0) or _deflates_like_a_bomb(data, limits)
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)


def _deflates_like_a_bomb(data: bytes, limits: Limits) -> bool:
    """Whether ``data``, deflated, would break the compression-ratio rule of
    :func:`checked_members`: a very repetitive part (a long run of identical rows),
    which a package that arrived with it stored would otherwise turn into one the
    re-inspection of our own output refuses. Such a part is written stored."""
    if len(data) <= _RATIO_FLOOR:
        return False
    packer = zlib.compressobj(wbits=-15)
    size = len(packer.compress(data)) + len(packer.flush())
    return len(data) > limits.max_compression_ratio * max(size, 1)


def checked_members(zf: zipfile.ZipFile, limits: Limits, budget: Budget) -> list[zipfile.ZipInfo]:
    """The file members, after refusing bombs, encryption and path tricks."""
    infos = zf.infolist()
    seen: set[str] = set()
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
            raise malformed("member name with a path trick")
        if name.lower() in seen:
            raise malformed("duplicate member name")
        seen.add(name.lower())
        if info.flag_bits & 0x1:
            raise Refusal(RefusalCode.ENCRYPTED, "encrypted member")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise malformed("unusual compression method")
        budget.spend(Resource.EXPANDED_BYTES, info.file_size, "members expand too far")
        ratio_limit = limits.max_compression_ratio * max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and info.file_size > ratio_limit:
            raise Refusal(RefusalCode.TOO_LARGE, "member compression ratio")
        if not info.is_dir():
            files.append(info)
    return files


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return zf.read(info)  # bounded by the declared size, CRC checked
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise malformed(f"unreadable member: {type(exc).__name__}") from exc


def _same_extension(name: str, extension: str) -> bool:
    own = posixpath.splitext(name)[1].lstrip(".").lower()
    return _EXTENSION_ALIASES.get(own, own) == _EXTENSION_ALIASES.get(extension, extension)


class Job:
    """One pass over a package. With ``workdir`` set, media are cleaned through the
    registry; without, they are only inspected (in ``scratch``)."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        limits: Limits,
        budget: Budget,
        *,
        workdir: Path | None,
        scratch: Path,
        depth: int,
    ) -> None:
        self.zf = zf
        self.limits = limits
        self.budget = budget
        self.workdir = workdir
        self.scratch = scratch
        self.depth = depth
        self.found: set[Category] = set()
        self.infos = {i.filename: i for i in checked_members(zf, limits, budget)}
        self.by_lower = {name.lower(): name for name in self.infos}

    def read(self, name: str) -> bytes:
        return read_member(self.zf, self.infos[name])

    def parse(self, data: bytes) -> etree._Element:
        """An XML part's root element, within the file's budget."""
        return xml.parse(data, self.budget, self.limits)

    def clean_xml(self, name: str, dropped_ids: set[str]) -> bytes:
        """The member ``name``, an XML part that is kept, cleaned (see :mod:`.xml`)."""
        return xml.clean_xml(self.read(name), dropped_ids, self.found, self.budget, self.limits)

    def properties(
        self, name: str, kinds: Mapping[str, Category | None], default: Category | None
    ) -> set[Category]:
        """What the properties part ``name`` says (see :func:`.xml.properties`)."""
        return xml.properties(self.read(name), kinds, default, self.budget, self.limits)

    def media(self, name: str) -> bytes | None:
        """The cleaned picture/video/sound, or None if it has to be dropped."""
        data = self.read(name)
        if self.workdir is None:
            try:
                self.found |= registry.inspect_bytes(data, self.scratch, self.limits)
            except Refusal as exc:
                self._droppable(exc)
                return None
            return data
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
        if refusal.code in (
            RefusalCode.TOO_LARGE,
            RefusalCode.TOO_COMPLEX,
            RefusalCode.CLEANING_FAILED,
        ):
            raise Refusal(refusal.code, f"embedded media: {refusal.detail}") from refusal
        self.found.add(Category.EMBEDDED)
