"""The plain-text cleaner: UTF-8 or UTF-16 in, normalised UTF-8 out; binary, markup
and RTF refused."""

from __future__ import annotations

import codecs
import tracemalloc
import unicodedata
from pathlib import Path

import pytest

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.invisible import strip_invisible
from tests.exiftool_oracle import leaks

TIP = "El camión cruza por Nogales el martes.\nPregunten por el segundo tráiler.\n"
FILLER = "Relleno de texto normal. " * 200  # pushes later bytes past the 4 KiB head


def _clean(tmp_path: Path, data: bytes) -> tuple[bytes, frozenset]:
    src, out = tmp_path / "upload", tmp_path / "clean.txt"
    src.write_bytes(data)
    result = clean_file(src, out)
    assert (result.kind, result.format, result.mime, result.extension) == (
        "text",
        "TXT",
        "text/plain",
        "txt",
    )
    return out.read_bytes(), result.removed


def _refusal(tmp_path: Path, data: bytes) -> RefusalCode:
    src, out = tmp_path / "upload", tmp_path / "clean.txt"
    src.write_bytes(data)
    with pytest.raises(Refusal) as info:
        clean_file(src, out)
    assert not out.exists()
    return info.value.code


@pytest.mark.parametrize(
    "data",
    [
        TIP.encode("utf-8"),
        codecs.BOM_UTF8 + TIP.encode("utf-8"),
        codecs.BOM_UTF16_LE + TIP.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TIP.encode("utf-16-be"),
        TIP.replace("\n", "\r\n").encode("utf-8"),
        unicodedata.normalize("NFD", TIP).encode("utf-8"),
    ],
    ids=["utf8", "utf8-bom", "utf16le", "utf16be", "crlf", "nfd"],
)
def test_text_becomes_plain_utf8(data: bytes, tmp_path: Path) -> None:
    out, removed = _clean(tmp_path, data)
    assert out == TIP.encode("utf-8")
    assert removed == frozenset()
    assert leaks(tmp_path / "clean.txt") == []


def test_invisible_characters_are_removed(tmp_path: Path) -> None:
    marked = "El cami\u200bón cruza\u200d por\u2060 Nogales\ufeff el martes.\u200e\n"
    out, removed = _clean(tmp_path, marked.encode("utf-8"))
    assert out == "El camión cruza por Nogales el martes.\n".encode()
    # Said as what it is: not "hidden data after the end of the file".
    assert removed == {Category.INVISIBLE_CHARACTERS}


def test_markup_hidden_by_invisible_characters_is_active_content(tmp_path: Path) -> None:
    """Removing a zero-width space must not assemble the markup it kept apart."""
    text = TIP + "<scr\u200bipt>alert(1)</script>\n"
    assert _refusal(tmp_path, text.encode("utf-8")) == RefusalCode.ACTIVE_CONTENT


# A text that exercises every cut: CRLF, decomposed accents, invisible marks, a
# variation selector after an emoji and a run of them after a letter, CJK, Cyrillic.
AWKWARD = (
    "Cami\u200bo\u0301n\r\ncruza\r\r\n\u2764\ufe0f a\ufe01\ufe02\ufe03 "
    "\u4e2d\u6587 \u043f\u0440\u0438\u0432\u0435\u0301\u0442 \U000e0041\U000e0042 fin.\r"
)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 64])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_streamed_in_small_pieces_gives_the_same_text(
    tmp_path: Path, chunk_size: int, encoding: str
) -> None:
    src, out = tmp_path / "upload", tmp_path / "clean.txt"
    src.write_bytes((AWKWARD * 40).encode(encoding))
    result = clean_file(src, out, Limits(chunk_size=chunk_size))
    whole = strip_invisible((AWKWARD * 40).replace("\r\n", "\n").replace("\r", "\n"))[0]
    assert out.read_text("utf-8") == unicodedata.normalize("NFC", whole)
    assert result.removed == {Category.INVISIBLE_CHARACTERS}


@pytest.mark.parametrize("chunk_size", [1, 3, 8])
def test_markup_across_the_pieces_is_found(tmp_path: Path, chunk_size: int) -> None:
    src, out = tmp_path / "upload", tmp_path / "clean.txt"
    src.write_bytes((TIP + "<ifr\u200bame src=x>").encode())
    with pytest.raises(Refusal) as info:
        clean_file(src, out, Limits(chunk_size=chunk_size))
    assert info.value.code == RefusalCode.ACTIVE_CONTENT
    # A word that only starts like a tag is prose, even when cut after "<frame".
    src.write_bytes((TIP + "los <frameworks> de siempre\n").encode())
    clean_file(src, out, Limits(chunk_size=chunk_size))
    assert out.read_text().endswith("los <frameworks> de siempre\n")


def test_a_long_chat_export_is_cleaned_in_bounded_memory(tmp_path: Path) -> None:
    """A 24 MB export once took 350 MB: the whole file, its text and copies of it."""
    line = "[12/03/24 21:04] Juan: ya vi el camión en la garita \u200b😀\r\n"
    src, out = tmp_path / "chat.txt", tmp_path / "clean.txt"
    with open(src, "w", encoding="utf-8", newline="") as fh:
        for _ in range(8 * 1024 * 1024 // len(line.encode())):
            fh.write(line)
    tracemalloc.start()
    try:
        result = clean_file(src, out, Limits(chunk_size=64 * 1024))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.removed == {Category.INVISIBLE_CHARACTERS}
    assert out.stat().st_size < src.stat().st_size
    assert peak < 4 * 1024 * 1024, f"{peak / 1e6:.1f} MB for an 8 MB text"


@pytest.mark.parametrize(
    "marker",
    ["<script>", "<HTML>", "<svg ", "<?xml", "<!DOCTYPE html>", "<iframe", "<Object"],
)
@pytest.mark.parametrize("where", ["start", "after-head"])
def test_markup_is_active_content(marker: str, where: str, tmp_path: Path) -> None:
    text = marker + TIP if where == "start" else TIP + FILLER + marker
    assert _refusal(tmp_path, text.encode("utf-8")) == RefusalCode.ACTIVE_CONTENT


def test_markup_in_utf16_is_active_content(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + (TIP + "<script>x</script>").encode("utf-16-le")
    assert _refusal(tmp_path, data) == RefusalCode.ACTIVE_CONTENT


def test_angle_brackets_in_prose_are_fine(tmp_path: Path) -> None:
    text = "Pagaron <5000 dólares; a < b, y el <objetivo> era otro.\n"
    out, _ = _clean(tmp_path, text.encode("utf-8"))
    assert out == text.encode("utf-8")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"hello\x00world", RefusalCode.UNKNOWN_TYPE),
        ((TIP + FILLER).encode() + b"\x00\x01\x02", RefusalCode.UNKNOWN_TYPE),
        (b"caf\xe9 con leche", RefusalCode.UNKNOWN_TYPE),  # Latin-1 is not UTF-8
        ((TIP + FILLER).encode() + b"caf\xe9", RefusalCode.MALFORMED),
        (b"data\x01\x02\x03\x04 more", RefusalCode.UNKNOWN_TYPE),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", RefusalCode.MALFORMED),  # lone surrogate
        (b"{\\rtf1\\ansi {\\author Maria}} hola", RefusalCode.UNKNOWN_TYPE),
        (codecs.BOM_UTF8, RefusalCode.EMPTY),
    ],
    ids=["nul", "nul-late", "latin1", "bad-utf8-late", "controls", "utf16-bad", "rtf", "bom"],
)
def test_non_text_is_refused(data: bytes, code: RefusalCode, tmp_path: Path) -> None:
    assert _refusal(tmp_path, data) == code
