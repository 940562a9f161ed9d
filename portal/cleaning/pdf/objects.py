"""How many objects a PDF holds and how large they are, judged before qpdf parses them.

qpdf reads a file's cross-reference table as it opens it (a 10 MB file listing a
million objects costs 5 s and 330 MB before anything else), and it parses an object
whole the first time it is touched, at about 70 bytes of memory per byte of text (an
array of five million zeros, 10 MB, takes 700 MB; inside a compressed object stream
that is 10 kB of file). So, in this order:

1. :func:`count_before_opening` bounds the number of objects from the bytes alone:
   classic cross-reference entries, the entries each cross-reference stream declares
   (its ``/Index`` or ``/Size``), and ``obj`` keywords (what qpdf would find when it
   rebuilds a damaged table). Over ``Limits.max_pdf_objects`` is refused before qpdf
   opens the file.
2. :data:`QPDF_LIMITS`, applied once to the process (:func:`apply_qpdf_limits`): qpdf
   uses no more than :data:`MAX_FLATE_MEMORY` to inflate a stream (a safety net: the
   cleaner inflates what it reads itself, and this allows the cross-reference stream
   of the largest file allowed), gives up on a file after :data:`MAX_WARNINGS`
   warnings, and decodes no chain of more than four filters. qpdf does not raise when
   it hits a limit: the caller checks for it.
3. :class:`Objects`, from the table qpdf read: the count again; every object outside
   an object stream whose bytes could hold more than :data:`MAX_OBJECT_BYTES` of text
   must be a stream (whose data qpdf does not parse); every object stream (parsed
   whole as soon as one object in it is touched) must inflate to no more than
   :data:`MAX_OBJECT_BYTES`, checked here with zlib, the bytes charged to the budget.
   Whether an object is a stream is told from its bytes, so objects nothing uses are
   never parsed.
"""

from __future__ import annotations

import mmap
import re
import zlib
from bisect import bisect_right
from pathlib import Path
from typing import BinaryIO

import pikepdf

from portal.cleaning.base import Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource

MAX_FLATE_MEMORY = 16 * 1024 * 1024
MAX_OBJECT_BYTES = 4 * 1024 * 1024
MAX_WARNINGS = 1_000
QPDF_LIMITS: dict[str, int] = {
    "flate_max_memory": MAX_FLATE_MEMORY,
    "doc_max_warnings": MAX_WARNINGS,
    "max_stream_filters": 4,
}

_CLASSIC_ENTRY = re.compile(rb"\d{10} \d{5} [nf][ \r\n]")
_OBJ_KEYWORD = re.compile(rb"\d+\s+\d+\s+obj\b")
_XREF_STREAM = re.compile(rb"/Type\s*/XRef\b")
_SIZE = re.compile(rb"/Size\s+(\d+)")
_INDEX = re.compile(rb"/Index\s*\[([\d\s]*)\]")
_STREAM_START = re.compile(rb">>\s*stream(?:\r\n|\r|\n)")
_BOOKKEEPING = re.compile(rb"/Type\s*/(?:ObjStm|XRef)\b")
_PEEK = 64 * 1024
_DICT_WINDOW = 64 * 1024


def apply_qpdf_limits() -> None:
    """Set :data:`QPDF_LIMITS` for qpdf in this process (they are qpdf's globals)."""
    pikepdf.settings.set_qpdf_limits(
        flate_max_memory=QPDF_LIMITS["flate_max_memory"],
        doc_max_warnings=QPDF_LIMITS["doc_max_warnings"],
        max_stream_filters=QPDF_LIMITS["max_stream_filters"],
    )


def _count(pattern: re.Pattern[bytes], data: mmap.mmap, most: int) -> int:
    count = 0
    for _match in pattern.finditer(data):
        count += 1
        if count > most:
            break
    return count


def _declared_entries(data: mmap.mmap, most: int) -> int:
    """How many entries the cross-reference streams declare, added up."""
    total = 0
    for match in _XREF_STREAM.finditer(data):
        start = data.rfind(b"obj", max(match.start() - _DICT_WINDOW, 0), match.start())
        end = data.find(b"stream", match.end(), match.end() + _DICT_WINDOW)
        if start < 0 or end < 0:
            continue  # not a cross-reference stream's dictionary
        dictionary = data[start:end]
        index = _INDEX.search(dictionary)
        size = _SIZE.search(dictionary)
        if index:
            numbers = [int(n) for n in index.group(1).split()]
            total += sum(numbers[1::2])
        elif size:
            total += int(size.group(1))
        if total > most:
            break
    return total


def count_before_opening(path: Path, limits: Limits) -> None:
    """Refuse a PDF whose bytes list more objects than allowed (see the module)."""
    most = limits.max_pdf_objects
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        listed = _count(_CLASSIC_ENTRY, data, most) + _declared_entries(data, most)
        if listed > most or _count(_OBJ_KEYWORD, data, most) > most:
            raise Refusal(RefusalCode.TOO_COMPLEX, "PDF lists too many objects")


class Objects:
    """The objects of an opened PDF as its cross-reference table lists them."""

    def __init__(self, pdf: pikepdf.Pdf, path: Path, limits: Limits, budget: Budget) -> None:
        table = pdf.get_xref_table()
        if len(table) > limits.max_pdf_objects:
            raise Refusal(RefusalCode.TOO_COMPLEX, "PDF has too many objects")
        self.path = path
        self.size = path.stat().st_size
        self.in_file = {
            objgen: entry.offset or 0 for objgen, entry in table.items() if entry.type == 1
        }
        self._starts = sorted(set(self.in_file.values()))
        object_streams = {
            entry.obj_stream_number or 0 for entry in table.values() if entry.type == 2
        }
        with open(path, "rb") as fh:
            for offset in self.in_file.values():
                if self.span(offset) > MAX_OBJECT_BYTES and not self._stream_at(fh, offset):
                    raise Refusal(RefusalCode.TOO_COMPLEX, "PDF object too large")
        for number in object_streams:
            self._check_object_stream(pdf, number, budget)

    def span(self, offset: int) -> int:
        """The most bytes the object at ``offset`` can take: up to the next one."""
        following = bisect_right(self._starts, offset)
        end = self._starts[following] if following < len(self._starts) else self.size
        return end - offset

    def _window(self, fh: BinaryIO, offset: int) -> bytes:
        fh.seek(offset)
        return fh.read(min(self.span(offset), _PEEK))

    def _stream_at(self, fh: BinaryIO, offset: int) -> bool:
        return _STREAM_START.search(self._window(fh, offset)) is not None

    def is_stream(self, objgen: tuple[int, int]) -> bool:
        """Whether the object ``objgen`` (outside object streams) is a stream other
        than an object or cross-reference stream, told from its bytes."""
        offset = self.in_file.get(objgen)
        if offset is None:
            return False
        with open(self.path, "rb") as fh:
            window = self._window(fh, offset)
        match = _STREAM_START.search(window)
        return match is not None and not _BOOKKEEPING.search(window, 0, match.start())

    def _check_object_stream(self, pdf: pikepdf.Pdf, number: int, budget: Budget) -> None:
        """An object stream is parsed whole once any object in it is touched: its
        text must stay within :data:`MAX_OBJECT_BYTES`."""
        objgen = (number, 0)
        try:
            stream = pdf.get_object(objgen)
        except pikepdf.PdfError as exc:
            raise Refusal(RefusalCode.MALFORMED, "unreadable PDF object stream") from exc
        if not isinstance(stream, pikepdf.Stream):
            raise Refusal(RefusalCode.MALFORMED, "PDF object stream is not a stream")
        names = stream.get("/Filter")
        filters = [str(n) for n in names] if isinstance(names, pikepdf.Array) else [str(names)]
        raw = stream.read_raw_bytes()
        if names is None:
            text = raw
        elif filters == ["/FlateDecode"] and "/DecodeParms" not in stream:
            try:
                text = zlib.decompressobj().decompress(raw, MAX_OBJECT_BYTES + 1)
            except zlib.error as exc:
                raise Refusal(RefusalCode.MALFORMED, "bad PDF object stream") from exc
        else:
            raise Refusal(RefusalCode.TOO_COMPLEX, "PDF object stream of unusual filters")
        if len(text) > MAX_OBJECT_BYTES:
            raise Refusal(RefusalCode.TOO_COMPLEX, "PDF object stream too large")
        budget.spend(Resource.EXPANDED_BYTES, len(text), "PDF streams expand too far")
