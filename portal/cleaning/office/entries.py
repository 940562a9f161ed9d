"""How many entries a zip holds, counted before :mod:`zipfile` reads its directory.

:class:`zipfile.ZipFile` builds an object for every entry of the central directory as
it opens a file, so a zip of 300,000 tiny entries costs 250 MB before any limit on
entries can be checked. :func:`count_entries` finds the central directory where
:mod:`zipfile` will look for it and counts its records one by one, stopping as soon
as there are too many; the count the end record claims is not trusted (a liar's
directory can hold more records than it says, and :mod:`zipfile` reads them all).

Standard library only: sniffing uses it.
"""

from __future__ import annotations

import struct
from pathlib import Path

from portal.cleaning.base import Refusal, RefusalCode

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_ENTRY = struct.Struct("<4s6H3L5H2L")  # central directory file header
_SEARCHED = _END.size + 0xFFFF  # the end record and the longest comment


def count_entries(path: Path, most: int) -> int:
    """How many entries the central directory of the zip at ``path`` holds, counted
    record by record where :mod:`zipfile` will read them; counting stops past
    ``most``. Raises Refusal for a zip whose directory cannot be found or read."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(size - _SEARCHED, 0))
        tail = fh.read()
        # Where zipfile looks: a record without comment at the very end, else the last
        # signature within reach of the longest comment.
        at = len(tail) - _END.size
        if not (tail[at : at + 4] == b"PK\x05\x06" and tail[-2:] == b"\x00\x00"):
            at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END.size:
            raise _malformed("no end of central directory")
        end_at = size - len(tail) + at
        _sig, _disk, _start, _here, _total, cd_size, _cd_offset, _comment = _END.unpack_from(
            tail, at
        )
        fh.seek(max(end_at - _END64_LOCATOR.size, 0))
        locator = fh.read(_END64_LOCATOR.size)
        if locator[:4] == b"PK\x06\x07":
            fh.seek(max(end_at - _END64_LOCATOR.size - _END64.size, 0))
            record = fh.read(_END64.size)
            if len(record) < _END64.size or record[:4] != b"PK\x06\x06":
                raise _malformed("bad zip64 end of central directory")
            cd_size = _END64.unpack(record)[8]
            end_at -= _END64_LOCATOR.size + _END64.size
        start = end_at - cd_size  # zipfile's start_dir (it allows data in front)
        if start < 0:
            raise _malformed("central directory out of the file")
        count, pos = 0, start
        fh.seek(start)
        while pos < end_at and count <= most:
            header = fh.read(_ENTRY.size)
            if len(header) < _ENTRY.size or header[:4] != b"PK\x01\x02":
                raise _malformed("bad central directory record")
            fields = _ENTRY.unpack(header)
            skip = fields[10] + fields[11] + fields[12]  # name, extra field, comment
            pos += _ENTRY.size + skip
            fh.seek(pos)
            count += 1
        return count


def _malformed(detail: str) -> Refusal:
    return Refusal(RefusalCode.MALFORMED, detail)
