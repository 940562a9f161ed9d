"""Invisible characters: what :func:`strip_invisible` removes, keeps and changes."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from portal.cleaning.invisible import strip_invisible


def test_every_format_character_is_removed() -> None:
    """Category Cf of the running Python's Unicode, whole: zero-width, bidi, tags."""
    format_chars = [
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
    ]
    assert len(format_chars) > 150
    text = "a" + "a".join(format_chars) + "a"
    assert strip_invisible(text) == ("a" * (len(format_chars) + 1), True)


@pytest.mark.parametrize(
    "mark",
    [
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u202b", "\u202c",
        "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u061c", "\u180e",
        "\u200e", "\u200f", "\U000e0001", "\U000e0041", "\U000e007f", "\u034f", "\u3164",
        "\u115f", "\u1160", "\uffa0", "\u17b4", "\u00ad",
    ],
)  # fmt: skip
def test_named_marks_are_removed(mark: str) -> None:
    assert strip_invisible(f"Nogales{mark} martes") == ("Nogales martes", True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u2764\ufe0f", "\u2764\ufe0f"),  # a red heart drawn as emoji
        ("1\ufe0f\u20e3", "1\ufe0f\u20e3"),  # keycap one
        ("\u2764\ufe0f\ufe0f\ufe0e", "\u2764\ufe0f"),  # only one selector counts
        ("\u8fbb\U000e0100", "\u8fbb\U000e0100"),  # an ideographic variant
        ("\u2229\ufe00", "\u2229\ufe00"),  # a mathematical variant
        ("a\ufe0f", "a"),  # nothing to select on a letter
        ("hola\U000e0100\U000e0101\U000e0102", "hola"),  # a payload in selectors
        ("\ufe0fempieza", "empieza"),
    ],
)
def test_variation_selectors_stay_only_where_they_select(text: str, expected: str) -> None:
    assert strip_invisible(text) == (expected, text != expected)


def test_other_spaces_become_plain_spaces_and_are_not_reported() -> None:
    text = "a\u00a0b\u2009c\u200ad\u3000e\u202ff\u2028g\u2029h"
    assert strip_invisible(text) == ("a b c d e f\ng\nh", False)


def test_visible_text_is_untouched() -> None:
    text = "Camión — «cruce» 中文 привет 👨🏽 ✓ ½ x² ﬁ ñ\n\ttab"
    assert strip_invisible(text) == (text, False)
