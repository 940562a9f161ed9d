"""The follow-up phrase's words: which lists, what is filtered out of them, how a
phrase is chosen, and how a typed phrase is read back.

The lists are BIP-39's English and Spanish words (``wordlists/``, source and licence
in ``wordlists/SOURCES.md``). Before use, each loses:

* the words in :data:`BLOCKED`: words that could frighten or offend a tipster, or draw
  the attention of someone who checks their phone (violence, crime and the police,
  drugs and their slang, sex, illness, insults);
* every word within one letter (a substitution, insertion or deletion) of a word
  kept before it, once accents and case are ignored, so that one slip of the thumb
  never turns a word into another word.

Invariants (tests/followup/test_words.py):

* a phrase has :attr:`WordList.length` words chosen with :mod:`secrets`, enough for
  at least :data:`MIN_BITS` bits of entropy;
* reading a phrase back (:func:`read`) ignores case, accents (``camion`` is
  ``camión``, ``nino`` is ``niño``) and anything between words that is not a letter
  (extra spaces, line breaks, commas, numbering); its result, :attr:`Reading.canonical`,
  is what the key derivation is given, so every way of typing one phrase gives the
  same keys.
"""

from __future__ import annotations

import functools
import math
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

WORDLISTS = Path(__file__).resolve().parent / "wordlists"
#: the list each language's phrases are made from; any other language gets English's
FILES = {"en": "bip39-english.txt", "es": "bip39-spanish.txt"}
DEFAULT_LIST = "en"
#: the least entropy a phrase may carry, in bits
MIN_BITS = 80


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: words dropped from each list, as they are written in it
BLOCKED: dict[str, frozenset[str]] = {
    "es": _word_set(
        """
        aborto abuso acoso adicto agonía ahogo alarma alerta amante anemia asalto asno
        ataque atroz azote batalla bicho bobo bomba bruja burla burro cadáver cadena
        cáncer cañón cárcel cerdo chivo chupar ciego cigarro cochino coger cojo combate
        crimen cripta culpa delito desnudo diablo droga duelo ebrio enano enemigo
        enfermo espada espía etnia exilio feo fosa fraude furia fusil golpe gordo
        guardia guerra hacha hembra herir hostil huevo huida hurto ilegal infiel informe
        ira jaula juez juicio ladrón lamer lanza lesión letal loco locura luto macho
        mafia maldad manco matar miedo militar mina misil morder morir mortal muerte
        mula necio negro noticia obeso odiar odio ofensa orgía óvulo pájaro pánico
        pecado pelea peligro perico plomo policía polvo prensa preso prisión puñal rapto
        raza rehén rencor sable sanción sangre sapo satán secreto secta sexo soldado
        soplar sordo susto tanque temor terror testigo tonto torpedo tóxico trauma
        tuerto tumba tumor úlcera vampiro veneno vengar vicio víctima vil viudo vulgar
        """
    ),
    "en": _word_set(
        """
        abuse accident accuse addict affair agent alarm alcohol alert alien anger
        anxiety armed armor army arrest assault asthma attack awful battle betray
        bitter blade blast blind blood bomb bullet bunker cancel cannon chaos chronic
        cigar coyote crash crazy crime cruel crush crystal cry danger demise despair
        destroy disease drink dumb dwarf enemy escape evidence evil execute exile
        fatal fat federal fever fire flee fury ghost grief guard guilt gun hazard
        hidden horror hospital hunt hurt ill illegal illness inflict inform injury
        inmate insane judge kiss knife lawsuit lazy liar lonely mad media misery
        monster mule naive nasty news panic patrol penalty pill pistol police powder
        prison punch regret report rifle riot sad sadness satoshi scare secret security
        sheriff shoot shove sick siege skull slam soldier spy sting strike struggle
        suspect sword target tobacco toilet tragic trap trial trigger ugly unhappy
        upset virus warfare warrior weapon whip whisper wine witness worry wreck
        """
    ),
}


def fold(text: str) -> str:
    """``text`` without accents and case: ``Camión`` -> ``camion``, ``Niño`` -> ``nino``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _one_apart(word: str) -> set[str]:
    """``word`` and each string made from it by deleting one letter: two words are at
    most one edit apart only if these sets of theirs meet."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_distance_at_most_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def drop_near_duplicates(words: Iterable[str]) -> list[str]:
    """``words`` in order, without any word within one edit of a word kept before it
    (accents and case ignored)."""
    kept: list[str] = []
    neighbours: dict[str, list[str]] = {}
    for word in words:
        folded = fold(word)
        variants = _one_apart(folded)
        close = {other for v in variants for other in neighbours.get(v, ())}
        if any(edit_distance_at_most_one(folded, other) for other in close):
            continue
        kept.append(word)
        for variant in variants:
            neighbours.setdefault(variant, []).append(folded)
    return kept


@dataclass(frozen=True)
class WordList:
    language: str
    #: the words as they are shown (NFC, with their accents)
    words: tuple[str, ...]

    @property
    def bits_per_word(self) -> float:
        return math.log2(len(self.words))

    @property
    def length(self) -> int:
        """Words per phrase: the fewest that carry :data:`MIN_BITS` bits."""
        return math.ceil(MIN_BITS / self.bits_per_word)

    @property
    def bits(self) -> float:
        """The entropy of one phrase, in bits."""
        return self.length * self.bits_per_word

    def new_phrase(self) -> str:
        """A fresh phrase: words chosen with :mod:`secrets`, joined by spaces."""
        return " ".join(secrets.choice(self.words) for _ in range(self.length))


def source_words(language: str) -> list[str]:
    """A list's words as its file has them, in NFC (the files are NFKD, as BIP-39's)."""
    text = (WORDLISTS / FILES[language]).read_text(encoding="utf-8")
    return [unicodedata.normalize("NFC", line.strip()) for line in text.splitlines() if line]


@functools.cache
def word_list(language: str) -> WordList:
    """The filtered list ``language``'s phrases are made from."""
    source = language if language in FILES else DEFAULT_LIST
    blocked = {fold(word) for word in BLOCKED[source]}
    allowed = [word for word in source_words(source) if fold(word) not in blocked]
    return WordList(source, tuple(drop_near_duplicates(allowed)))


@functools.cache
def _known_words() -> frozenset[str]:
    return frozenset(fold(word) for language in FILES for word in word_list(language).words)


def phrase_lengths() -> frozenset[int]:
    return frozenset(word_list(language).length for language in FILES)


@dataclass(frozen=True)
class Reading:
    """A typed phrase, read: its words folded, and what is wrong with it, if anything."""

    words: tuple[str, ...]
    #: the typed words that are in no list, as typed
    unknown: tuple[str, ...]

    @property
    def well_formed(self) -> bool:
        return not self.unknown and len(self.words) in phrase_lengths()

    @property
    def canonical(self) -> str:
        """The phrase as the key derivation takes it: folded words, one space apart."""
        return " ".join(self.words)


_LETTERS = re.compile(r"[^\W\d_]+")


def read(typed: str) -> Reading:
    """Read a phrase as typed: ``  Camion,  NIÑO\\n abeja`` is ``camion nino abeja``."""
    shown = _LETTERS.findall(unicodedata.normalize("NFC", typed))
    known = _known_words()
    words = tuple(fold(word) for word in shown)
    unknown = tuple(dict.fromkeys(w for w, f in zip(shown, words, strict=True) if f not in known))
    return Reading(words, unknown)
