"""The plain-text cleaner: UTF-8 or UTF-16 in, normalised UTF-8 out; binary, markup
and RTF refused."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest

from portal.cleaning import Category, Refusal, RefusalCode, clean_file
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
    assert removed == {Category.HIDDEN_DATA}


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
