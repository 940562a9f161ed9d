"""Plain text: accepted as UTF-8 (with or without a byte-order mark) or UTF-16 with a
byte-order mark, written back as UTF-8 without one.

Text carries no metadata of its own, but it can carry things a browser would act on
and marks invisible to a reader: markup (HTML, SVG, XML, scripts) anywhere in the file
is refused as active content; zero-width and other invisible formatting characters,
which can fingerprint a copied document for each recipient, are removed (and reported
as hidden data). Line ends become ``\\n`` and the text is put in Unicode NFC form.

Binary data (NUL bytes, control characters, invalid UTF-8) is not text and is refused.
RTF is refused too: it is a document format that names its author and dates, and
pasting its text into the form is the better way to send it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
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

# Anywhere in the text, in any case. The first group is matched as a prefix (as
# browsers and sniffers may); the second only as whole tag names, so that prose
# such as "<metas>" or "<formato>" is not refused.
_MARKUP = re.compile(
    r"<(?:script|html|svg|iframe|object|\?xml|!doctype|\?php)"
    r"|<(?:frame|embed|body|meta|link|style|form|base)\b",
    re.IGNORECASE,
)
# C0 controls other than tab, line feed, vertical tab, form feed and carriage return,
# DEL and the C1 controls: present in binary files, never in typed text.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_RTF = b"{\\rtf"


def _decode(data: bytes) -> str:
    """The text, or a Refusal saying why these bytes are not text."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise Refusal(RefusalCode.MALFORMED, "invalid UTF-16") from exc
    else:
        if b"\x00" in data:
            raise Refusal(RefusalCode.UNKNOWN_TYPE, "NUL bytes: binary data")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Refusal(RefusalCode.MALFORMED, "invalid UTF-8") from exc
    if text.lstrip("\ufeff \t\r\n").startswith("{\\rtf"):
        raise Refusal(RefusalCode.UNKNOWN_TYPE, "RTF")
    if _CONTROL.search(text):
        raise Refusal(RefusalCode.UNKNOWN_TYPE, "control characters: binary data")
    if _MARKUP.search(text):
        raise Refusal(RefusalCode.ACTIVE_CONTENT, "markup a browser would render")
    return text


def _invisible(char: str) -> bool:
    # Format characters (Cf): zero-width spaces and joiners, direction marks, word
    # joiners, tag characters, the byte-order mark.
    return unicodedata.category(char) == "Cf"


def _normalise(text: str) -> tuple[str, bool]:
    """NFC text with ``\\n`` line ends and no invisible characters; whether any were
    removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    visible = "".join(char for char in text if not _invisible(char))
    return unicodedata.normalize("NFC", visible), visible != text


def _read(src: Path, limits: Limits) -> bytes:
    if src.stat().st_size > limits.max_expanded_bytes:
        raise Refusal(RefusalCode.TOO_LARGE, "text file too large")
    return src.read_bytes()


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
        _text, removed = _normalise(_decode(_read(src, limits)))
        return {Category.HIDDEN_DATA} if removed else set()

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        text, removed = _normalise(_decode(_read(src, limits)))
        if not text.strip():
            raise Refusal(RefusalCode.EMPTY, "no visible text")
        dst.write_bytes(text.encode("utf-8"))
        return Cleaned(
            kind=Kind.TEXT,
            format="TXT",
            mime="text/plain",
            extension="txt",
            removed=frozenset({Category.HIDDEN_DATA} if removed else ()),
        )


CLEANER = TextCleaner()
