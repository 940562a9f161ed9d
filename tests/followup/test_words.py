"""The follow-up phrase's words: where the lists come from, what is filtered out of
them, the entropy of a phrase, and how a typed phrase is read back."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
import secrets
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from portal.followup import words

#: SHA-256 of each vendored list, as wordlists/SOURCES.md records it
SOURCE_HASHES = {
    "bip39-english.txt": "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda",
    "bip39-spanish.txt": "46846a5a0139d1e3cb77293e521c2865f7bcdb82c44e8d0a06a2cd0ecba48c0b",
}

#: words a tipster must never be handed, written here independently of the block
#: lists (some are in the source lists, some not): violence, crime, police, drugs
ALARMING = {
    "es": "matar muerte bomba policía droga secuestro sangre cárcel víctima arma fusil",
    "en": "kill murder bomb police drug gun blood prison victim weapon knife",
}


def levenshtein(a: str, b: str) -> int:
    """The plain dynamic-programming edit distance (the oracle for the filter)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@pytest.mark.parametrize("name", sorted(SOURCE_HASHES))
def test_vendored_lists_are_the_upstream_files(name: str) -> None:
    data = (words.WORDLISTS / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SOURCE_HASHES[name]
    sources = (words.WORDLISTS / "SOURCES.md").read_text()
    assert SOURCE_HASHES[name] in sources and name in sources
    assert "MIT" in sources and (words.WORDLISTS / "LICENSE-bip39.txt").read_text().startswith(
        "The MIT License"
    )
    spec = importlib.util.find_spec("mnemonic")
    if spec is None or spec.origin is None:
        pytest.skip("the mnemonic package (the test extra) is not installed")
    upstream = Path(spec.origin).parent / "wordlist" / name.removeprefix("bip39-")
    assert upstream.read_bytes() == data


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_phrase_carries_at_least_80_bits(language: str) -> None:
    word_list = words.word_list(language)
    assert len(set(word_list.words)) == len(word_list.words)
    bits = word_list.length * math.log2(len(word_list.words))
    assert bits >= 80
    assert word_list.bits == pytest.approx(bits)
    # One word fewer would not be enough: the phrase is no longer than it must be.
    assert (word_list.length - 1) * math.log2(len(word_list.words)) < 80
    phrase = word_list.new_phrase().split(" ")
    assert len(phrase) == word_list.length
    assert set(phrase) <= set(word_list.words)


@pytest.mark.parametrize("language", ["es", "en"])
def test_phrases_are_drawn_from_the_whole_list(language: str) -> None:
    # secrets.choice over the list: many phrases together use most of it, evenly.
    word_list = words.word_list(language)
    drawn = Counter(
        itertools.chain.from_iterable(word_list.new_phrase().split(" ") for _ in range(2000))
    )
    assert len(drawn) > 0.99 * len(word_list.words)
    assert max(drawn.values()) < 40  # about 10 expected each


def test_phrases_come_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = secrets.choice

    def counting(seq):
        calls.append(len(seq))
        return real(seq)

    monkeypatch.setattr(words.secrets, "choice", counting)
    word_list = words.word_list("es")
    word_list.new_phrase()
    assert calls == [len(word_list.words)] * word_list.length


@pytest.mark.parametrize("language", ["es", "en"])
def test_blocked_words_are_real_words_of_the_list_and_never_used(language: str) -> None:
    source = {words.fold(w) for w in words.source_words(language)}
    blocked = {words.fold(w) for w in words.BLOCKED[language]}
    assert blocked <= source, sorted(blocked - source)  # no typo makes a block miss
    kept = {words.fold(w) for w in words.word_list(language).words}
    assert not kept & blocked
    for word in ALARMING[language].split():
        assert words.fold(word) not in kept, word


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_two_words_are_one_slip_apart(language: str) -> None:
    kept = [words.fold(w) for w in words.word_list(language).words]
    assert len(set(kept)) == len(kept)  # nothing that differs only in accents or case
    by_length: dict[int, list[str]] = {}
    for word in kept:
        by_length.setdefault(len(word), []).append(word)
    for length, group in by_length.items():
        # Equal lengths: one edit apart exactly when they differ in one place.
        for word, other in itertools.combinations(group, 2):
            assert sum(x != y for x, y in zip(word, other, strict=True)) > 1, (word, other)
        # One letter longer: only where the shorter's letters all occur in the longer.
        for word in group:
            letters = Counter(word)
            for other in by_length.get(length + 1, []):
                if not letters - Counter(other):
                    assert levenshtein(word, other) > 1, (word, other)


def test_the_near_duplicate_filter_agrees_with_levenshtein() -> None:
    sample = ["casa", "cosa", "caza", "mesa", "mesas", "pelo", "pela", "niño", "nino", "abeja"]
    kept = words.drop_near_duplicates(sample)
    assert kept == ["casa", "mesa", "pelo", "niño", "abeja"]
    for a, b in itertools.combinations(kept, 2):
        assert levenshtein(words.fold(a), words.fold(b)) > 1
    dropped = [w for w in sample if w not in kept]
    for word in dropped:
        assert any(levenshtein(words.fold(word), words.fold(k)) <= 1 for k in kept), word


def test_the_filters_leave_most_of_each_list() -> None:
    for language in ("es", "en"):
        assert len(words.word_list(language).words) > 1400


def test_spanish_words_keep_their_accents_on_screen() -> None:
    shown = words.word_list("es").words
    assert any(unicodedata.normalize("NFC", w) != words.fold(w) for w in shown)
    assert all(unicodedata.is_normalized("NFC", w) for w in shown)


def _accented_spanish_phrase() -> str:
    shown = words.word_list("es")
    accented = [w for w in shown.words if words.fold(w) != w]
    return " ".join((accented * 8)[: shown.length])


def test_entry_ignores_accents_case_and_spacing() -> None:
    phrase = _accented_spanish_phrase()
    expected = words.read(phrase)
    assert expected.well_formed
    typings = [
        words.fold(phrase),
        phrase.upper(),
        "   " + "   \n ".join(phrase.split()) + "\t ",
        ", ".join(phrase.split()),
        " ".join(f"{n}. {w}" for n, w in enumerate(phrase.split(), start=1)),
        unicodedata.normalize("NFD", phrase),
    ]
    for typed in typings:
        reading = words.read(typed)
        assert reading.well_formed, typed
        assert reading.canonical == expected.canonical, typed
    assert expected.canonical == words.fold(phrase)


def test_camion_is_camion() -> None:
    assert words.fold("camión") == "camion" and words.fold("NIÑO") == "nino"


def test_a_phrase_in_either_language_is_read() -> None:
    for language in ("es", "en"):
        assert words.read(words.word_list(language).new_phrase()).well_formed


def test_what_is_wrong_with_a_phrase_is_said() -> None:
    phrase = words.word_list("en").new_phrase().split()
    short = words.read(" ".join(phrase[:-1]))
    assert not short.well_formed and not short.unknown
    typo = words.read(" ".join(["qqqzzz", *phrase[1:]]))
    assert not typo.well_formed and typo.unknown == ("qqqzzz",)
    assert not words.read("").well_formed
