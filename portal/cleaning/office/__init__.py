"""Office documents (DOCX, XLSX, PPTX; ODT, ODS, ODP): rebuilt from an allow-list.

Recognised by bytes: a ZIP whose members include ``[Content_Types].xml`` (OOXML, the
kind then decided by the main part's content type) or whose first member is
``mimetype`` holding an OpenDocument type. Any other ZIP is left to the registry,
which refuses it as an archive.

The work is split by what it handles:

* :mod:`.package`: the ZIP itself, checked before anything is expanded (member count,
  sizes, compression ratios, encryption, path tricks), media cleaned through the
  registry, the output written in a fixed form;
* :mod:`.ooxml` and :mod:`.odf`: which parts each kind keeps, drops or replaces;
* :mod:`.xml`: safe parsing, and authors, dates and ids neutralised in kept parts.

Sniffing needs only :mod:`zipfile` and :mod:`.entries`; those modules (and lxml) are imported when
a document is inspected or cleaned.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Kind,
    Limits,
    Refusal,
    RefusalCode,
)

if TYPE_CHECKING:
    from portal.cleaning.office.package import Rebuilt

#: NotImplementedError: a ZIP version newer than zipfile reads
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError)


def _odf_mimetype(zf: zipfile.ZipFile) -> str | None:
    infos = zf.infolist()
    if not infos or infos[0].filename != "mimetype" or infos[0].file_size > 100:
        return None
    value = zf.read(infos[0]).decode("ascii", "replace").strip()
    return value if value.startswith("application/vnd.oasis.opendocument.") else None


class OfficeCleaner(FormatCleaner):
    family = "office"

    def sniff(self, head: bytes, path: Path) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        # The first local header names the first member: enough for a damaged file.
        if head[30:49] == b"[Content_Types].xml" or head[30:38] == b"mimetype":
            return True
        try:
            from portal.cleaning.office.entries import count_entries

            most = Limits().max_members
            if count_entries(path, most) > most:
                return False  # not read further: refused as an archive
            with zipfile.ZipFile(path) as zf:
                if any(i.filename == "[Content_Types].xml" for i in zf.infolist()):
                    return True
                return _odf_mimetype(zf) is not None
        except Exception:  # sniff never raises; the registry decides
            return False

    @staticmethod
    def _rebuild(src: Path, limits: Limits, workdir: Path | None, depth: int) -> Rebuilt:
        """The cleaned package; with ``workdir`` None media are only inspected."""
        from portal.cleaning.budget import Budget, Resource
        from portal.cleaning.office import odf, ooxml
        from portal.cleaning.office.entries import count_entries
        from portal.cleaning.office.package import Job, malformed

        budget = Budget(limits)
        try:
            entries = count_entries(src, budget.left(Resource.ZIP_ENTRIES))
        except OSError as exc:
            raise malformed("unreadable ZIP") from exc
        budget.spend(Resource.ZIP_ENTRIES, entries, "too many zip entries")
        try:
            zf = zipfile.ZipFile(src)
        except _ZIP_ERRORS as exc:
            raise malformed("unreadable ZIP") from exc
        with zf:
            job = Job(zf, limits, budget, workdir=workdir, scratch=src.parent, depth=depth)
            if "[Content_Types].xml" in job.infos:
                return ooxml.rebuild(job)
            try:
                mimetype = _odf_mimetype(zf)
            except _ZIP_ERRORS as exc:
                raise malformed("unreadable mimetype") from exc
            if mimetype is None:
                raise Refusal(RefusalCode.ARCHIVE, "not an office document")
            return odf.rebuild(job, mimetype)

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        return self._rebuild(src, limits, None, 0).found

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        rebuilt = self._rebuild(src, limits, dst.parent, depth)
        rebuilt.write(dst, limits)
        return Cleaned(
            kind=Kind.DOCUMENT,
            format=rebuilt.format,
            mime=rebuilt.mime,
            extension=rebuilt.extension,
            removed=frozenset(rebuilt.found),
        )


CLEANER = OfficeCleaner()
