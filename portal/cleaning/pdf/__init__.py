"""PDF: recognised by its ``%PDF-`` header and rewritten by :mod:`.rewrite`.

Sniffing reads bytes only; pikepdf (qpdf) is imported by :mod:`.rewrite` when a PDF
is first inspected or cleaned. What the rewrite removes and keeps is described there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portal.cleaning.base import Category, Cleaned, FormatCleaner, Limits, Refusal, RefusalCode

#: The /ID qpdf writes with ``static_id=True``: shared by every cleaned PDF.
STATIC_ID = bytes.fromhex("31415926535897932384626433832795")


class PdfCleaner(FormatCleaner):
    family = "pdf"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.startswith(b"%PDF-")

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        from portal.cleaning.pdf import rewrite

        with _names_must_be_text():
            return rewrite.inspect(src, limits)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        from portal.cleaning.pdf import rewrite

        with _names_must_be_text():
            return rewrite.clean(src, dst, limits, depth)


@contextmanager
def _names_must_be_text() -> Iterator[None]:
    """pikepdf raises UnicodeDecodeError wherever a name (``/FlateDec#E3X``) is read
    as text and its bytes are not UTF-8: no name PDF defines is like that, so the
    file is malformed, wherever the rewrite happens to read the name."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise Refusal(RefusalCode.MALFORMED, "a name that is not UTF-8") from exc


CLEANER = PdfCleaner()
