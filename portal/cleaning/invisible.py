"""Invisible characters: marks a reader cannot see that can tell who copied a text.

A leaked document can be handed to each reader with a different pattern of invisible
characters in it (zero-width spaces between words, direction marks, tag characters,
variation selectors after ordinary letters), so that a copy pasted into a tip names
the reader who pasted it. :func:`strip_invisible` is the one place that decides what
such a mark is; the plain-text cleaner (:mod:`portal.cleaning.text`) and the tip
form's typed fields (:mod:`portal.public.forms`) both call it.

What goes:

* every format character (Unicode category Cf): zero-width space, non-joiner and
  joiner (U+200B-U+200D), word joiner and invisible operators (U+2060-U+2064), the
  byte-order mark (U+FEFF), direction marks, embeddings, overrides and isolates
  (U+200E/F, U+202A-U+202E, U+2066-U+2069, U+061C), the Mongolian vowel separator
  (U+180E), soft hyphens, interlinear annotation marks, tag characters
  (U+E0001, U+E0020-U+E007F), and the rest of the category;
* characters that draw nothing though they are not format characters: the combining
  grapheme joiner (U+034F), Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), Khmer
  inherent vowels (U+17B4, U+17B5);
* variation selectors that select nothing: one is kept only right after a character
  it can change (an emoji or symbol for U+FE0E/U+FE0F, a CJK ideograph for
  U+E0100-U+E01EF, a mathematical symbol or CJK ideograph for U+FE00-U+FE0D, a
  Mongolian letter for the Mongolian selectors); a second one in a row, or one after
  an ordinary letter, is a hidden payload and goes.

What is changed, not removed: spaces of other widths (no-break, thin, em, ideographic
and the rest of category Zs) become a plain space, and line and paragraph separators
a line break, since the choice among them can carry a pattern too. These are not
reported: nothing the reader could see was lost.

Emoji joined by a zero-width joiner (a family, a profession) fall apart into their
parts; the text still says the same.
"""

from __future__ import annotations

import re
import unicodedata

# Category Cf in Unicode 14 (Python 3.11) and later additions, as ranges, split at
# U+FFFF: Python's regular expressions test a class of characters from the Basic
# Multilingual Plane against a bitmap, but one with others range by range, several
# times slower. A test checks that every Cf character of the running Python is in one
# of the two.
_FORMAT_BMP = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
_FORMAT_ASTRAL = (
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_BLANK = "\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
_INVISIBLE_BMP = re.compile(f"[{_FORMAT_BMP}{_BLANK}]")
_INVISIBLE_ASTRAL = re.compile(f"[{_FORMAT_ASTRAL}]+")
#: UTF-8 beginnings of every astral character above (two bytes each: a byte search
#: for some longer ones is slow on text full of emoji)
_ASTRAL_LEADS = (
    b"\xf3\xa0",  # U+E0000-U+E0FFF: tags, variation selectors 17-256
    b"\xf0\x91",  # U+11000-U+11FFF: Kaithi number signs
    b"\xf0\x93",  # U+13000-U+13FFF: Egyptian hieroglyph format controls
    b"\xf0\x9b",  # U+1B000-U+1BFFF: shorthand format controls
    b"\xf0\x9d",  # U+1D000-U+1DFFF: musical symbol format controls
)

_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u180f]+")
_SELECTORS_BMP = "\ufe00-\ufe0f\u180b-\u180d\u180f"
_EMOJI_SELECTORS = "\ufe0e\ufe0f"
_KEYCAP_BASES = set("#*0123456789")
_SYMBOL_CATEGORIES = {"So", "Sm", "Sk", "Po", "Pd", "Nd"}

# Spaces other than U+0020 (category Zs) and the line/paragraph separators.
_SPACES_BMP = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACES = re.compile(f"[{_SPACES_BMP}]")
_SEPARATORS = re.compile("[\u2028\u2029]")

#: any character from the Basic Multilingual Plane this module may act on: text
#: without one (and without the astral ones) is left as it is after a single scan
_SUSPECT_BMP = re.compile(f"[{_FORMAT_BMP}{_BLANK}{_SELECTORS_BMP}{_SPACES_BMP}\u2028\u2029]")


def _is_ideograph(char: str) -> bool:
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3134F
    )


def _selects(base: str, selector: str) -> bool:
    """Whether ``selector`` right after ``base`` can change how ``base`` is drawn."""
    code = ord(selector)
    if selector in _EMOJI_SELECTORS:
        return base in _KEYCAP_BASES or unicodedata.category(base) in _SYMBOL_CATEGORIES
    if 0xE0100 <= code <= 0xE01EF:
        return _is_ideograph(base)
    if 0xFE00 <= code <= 0xFE0D:
        return unicodedata.category(base) == "Sm" or _is_ideograph(base)
    return 0x1800 <= ord(base) <= 0x18AF  # Mongolian free variation selectors


def _keep_one_selector(match: re.Match[str]) -> str:
    at = match.start()
    if at == 0:
        return ""
    first = match.group()[0]
    return first if _selects(match.string[at - 1], first) else ""


def _may_hold_astral(text: str) -> bool:
    data = text.encode("utf-8", "surrogatepass")
    return any(lead in data for lead in _ASTRAL_LEADS)


def strip_invisible(text: str) -> tuple[str, bool]:
    """``text`` without invisible characters, with plain spaces and line breaks; and
    whether anything was removed (changed spaces do not count).

    A variation selector is judged by the character before it in ``text``: callers
    that cut a text into pieces must not cut right before one.
    """
    if text.isascii():
        return text, False
    # One scan finds the distinct suspects; one replace per distinct character is
    # faster than a substitution per occurrence (a marked copy has the same few
    # characters on every line).
    suspects = set(_SUSPECT_BMP.findall(text))
    astral = _may_hold_astral(text)
    if not suspects and not astral:
        return text, False
    visible = text
    selectors = False
    for char in suspects:
        if _INVISIBLE_BMP.match(char):
            visible = visible.replace(char, "")
        elif _SPACES.match(char):
            visible = visible.replace(char, " ")
        elif _SEPARATORS.match(char):
            visible = visible.replace(char, "\n")
        else:
            selectors = True
    if astral:
        visible = _INVISIBLE_ASTRAL.sub("", visible)
    if selectors or astral:
        visible = _SELECTORS.sub(_keep_one_selector, visible)
    return visible, len(visible) != len(text)
