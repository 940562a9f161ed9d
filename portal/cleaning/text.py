"""Plain text: accepted as UTF-8 (with or without a byte-order mark) or UTF-16 with a
byte-order mark, written back as UTF-8 without one.

Text carries no metadata of its own, but it can carry things a browser would act on
and marks invisible to a reader: markup (HTML, SVG, XML, scripts) anywhere in the file
is refused as active content; invisible characters, which can fingerprint a copied
document for each recipient, are removed (:mod:`portal.cleaning.invisible`, shared
with the tip form) and reported. Line ends become ``\\n`` and the text is put in
Unicode NFC form.

Binary data (NUL bytes, control characters, invalid UTF-8) is not text and is refused.
RTF is refused too: it is a document format that names its author and dates, and
pasting its text into the form is the better way to send it.

The file is streamed: read, decoded, cleaned and written :attr:`Limits.chunk_size`
bytes at a time, so a chat export of hundreds of megabytes costs a few megabytes of
memory. Each piece is cut where cleaning it alone gives the same text as cleaning
it with its neighbours (before a character that never combines with what precedes
it), and markup is looked for across the cuts.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Kind,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.cleaning.invisible import strip_invisible

# Anywhere in the text, in any case. The first group is matched as a prefix (as
# browsers and sniffers may); the second only as whole tag names, so that prose
# such as "<metas>" or "<formato>" is not refused.
_MARKUP = re.compile(
    r"<(?:script|html|svg|iframe|object|\?xml|!doctype|\?php)"
    r"|<(?:frame|embed|body|meta|link|style|form|base)\b",
    re.IGNORECASE,
)
#: longer than any match of _MARKUP plus the character that decides its \b
_MARKUP_REACH = 16
# C0 controls other than tab, line feed, vertical tab, form feed and carriage return,
# DEL and the C1 controls: present in binary files, never in typed text.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_RTF = b"{\\rtf"
# Characters before which a text may be cut and each side cleaned alone: none of them
# combines with, reorders against or composes onto what precedes it in NFC (the
# second character of every canonical composition is U+0300 or above), and none is
# a variation selector judged by its predecessor.
_CUT_BEFORE = re.compile("[\x00-\u02ff\u3000-\u303f\u4e00-\u9fff\uac00-\ud7a3]")
#: how far back from a piece's end a place to cut is looked for
_CUT_SEARCH = 4096


def _decoded(src: Path, limits: Limits) -> Iterator[str]:
    """The text of ``src`` in pieces, or a Refusal saying why these bytes are not text."""
    if src.stat().st_size > limits.max_expanded_bytes:
        raise Refusal(RefusalCode.TOO_LARGE, "text file too large")
    with open(src, "rb") as fh:
        data = fh.read(max(limits.chunk_size, 4))  # enough to see a byte-order mark
        wide = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        decoder = codecs.getincrementaldecoder("utf-16" if wide else "utf-8-sig")()
        started = False
        while True:
            if not wide and b"\x00" in data:
                raise Refusal(RefusalCode.UNKNOWN_TYPE, "NUL bytes: binary data")
            final = not data
            try:
                piece = decoder.decode(data, final=final)
            except UnicodeDecodeError as exc:
                name = "UTF-16" if wide else "UTF-8"
                raise Refusal(RefusalCode.MALFORMED, f"invalid {name}") from exc
            if not started and piece:
                started = True
                if piece.lstrip("\ufeff \t\r\n").startswith("{\\rtf"):
                    raise Refusal(RefusalCode.UNKNOWN_TYPE, "RTF")
            if piece:
                yield piece
            if final:
                return
            data = fh.read(limits.chunk_size)


def _cut(text: str) -> int:
    """Where to end the piece that is cleaned now; the rest waits for more text."""
    end = len(text)
    if text.endswith("\r"):  # the "\n" of a CRLF may be in the next piece
        end -= 1
    # The last place to cut, looked for from the end: text is mostly characters one
    # may cut before, so this usually stops at once.
    for cut in range(end - 1, max(0, end - _CUT_SEARCH) - 1, -1):
        if _CUT_BEFORE.match(text, cut):
            break
    else:
        return end  # no place to cut near the end: clean all of it (NFC may differ)
    if cut > 0 and text[cut - 1] == "\r":  # never between the two halves of a CRLF
        cut -= 1
    return cut


def _clean_piece(text: str) -> tuple[str, bool]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise Refusal(RefusalCode.UNKNOWN_TYPE, "control characters: binary data")
    text, removed = strip_invisible(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text, removed


class _Markup:
    """Looks for markup in cleaned text given piece by piece, across the cuts."""

    def __init__(self) -> None:
        self._tail = ""

    def check(self, text: str, *, final: bool) -> None:
        window = self._tail + text
        undecided = len(window) - (0 if final else _MARKUP_REACH)
        for match in _MARKUP.finditer(window):
            if match.start() < undecided:
                raise Refusal(RefusalCode.ACTIVE_CONTENT, "markup a browser would render")
        self._tail = window[-_MARKUP_REACH:]


def _stream(src: Path, limits: Limits, write: Callable[[str], object]) -> tuple[bool, bool]:
    """Clean ``src`` piece by piece, handing each cleaned piece to ``write``.
    Returns whether any invisible character was removed and whether any visible
    text was found."""
    removed = visible = False
    markup = _Markup()
    pending = ""
    for piece in _decoded(src, limits):
        pending += piece
        cut = _cut(pending)
        if cut == 0:
            continue
        text, dropped = _clean_piece(pending[:cut])
        pending = pending[cut:]
        markup.check(text, final=False)
        removed, visible = removed or dropped, visible or _shows(text)
        write(text)
    text, dropped = _clean_piece(pending)
    markup.check(text, final=True)
    removed, visible = removed or dropped, visible or _shows(text)
    write(text)
    return removed, visible


def _shows(text: str) -> bool:
    return bool(text) and not text.isspace()


def _found(removed: bool) -> set[Category]:
    return {Category.INVISIBLE_CHARACTERS} if removed else set()


class TextCleaner(FormatCleaner):
    family = "text"

    def sniff(self, head: bytes, path: Path) -> bool:
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
            return not head.lstrip(codecs.BOM_UTF8).startswith(_RTF)
        if b"\x00" in head or head.lstrip().startswith(_RTF):
            return False
        # The head may end inside a multi-byte character.
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            text = decoder.decode(head, final=False)
        except UnicodeDecodeError:
            return False
        return not _CONTROL.search(text)

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        removed, _visible = _stream(src, limits, lambda text: None)
        return _found(removed)

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        with open(dst, "w", encoding="utf-8", newline="") as out:
            removed, visible = _stream(src, limits, out.write)
        if not visible:
            raise Refusal(RefusalCode.EMPTY, "no visible text")
        return Cleaned(
            kind=Kind.TEXT,
            format="TXT",
            mime="text/plain",
            extension="txt",
            removed=frozenset(_found(removed)),
        )


CLEANER = TextCleaner()
