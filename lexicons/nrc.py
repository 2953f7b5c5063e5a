"""NRC Emotion Lexicon (EmoLex) matches per token.

The lexicon is read from the installed ``nrclex`` package's data file ``nrclex/data/nrc_en.json``
(located without importing nrclex; never copied into this repository). Its licence is
research/non-commercial: commercial use needs a licence from NRC Canada, so the pipeline lets you
switch it off (``LexiconConfig(use_nrc=False)``).

Matching: a word token's lowercase form, else the first candidate lemma from cheap suffix rules
(plurals ``-s/-es/-ies``, ``-ed/-ied``, ``-ing``, ``-ly/-ily``, comparatives ``-ier/-iest`` and
doubled-consonant or final-e ``-er/-est``; final ``e`` restored, doubled consonants undone) that is
in the lexicon. No TextBlob/NLTK. Suffix rules over-match now and then (checked on TweetEval and
SST-2 words; the worst offenders are listed in ``_NO_LEMMA``).
spaCy lemmas are not used: the parser runs only on sentences with negation cues, and lemmas from it
would make a word's emotions depend on whether its sentence contains "not" (and the lemmatizer
adds ~40% to the parse time). Negation does not change NRC matches (the rates are raw counts).

Rates: for each of the 10 categories, matched word tokens / word tokens (0.0 for no words).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import util
from pathlib import Path

from .base import WORD, Doc, LexiconDataError, word_count

__all__ = ["NRC_CATEGORIES", "NrcAnnotator", "NrcEvidence", "candidate_lemmas", "load_nrc_lexicon"]

NRC_CATEGORIES = (
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
    "trust",
    "positive",
    "negative",
)
_ORDER = {c: i for i, c in enumerate(NRC_CATEGORIES)}
_INSTALL_HINT = (
    "the NRC Emotion Lexicon data file nrclex/data/nrc_en.json was not found: install it with "
    "`pip install nrclex` (research/non-commercial licence), or set LexiconConfig(use_nrc=False)"
)
_CACHE_LIMIT = 200_000
_VOWELS = frozenset("aeiou")


@dataclass(frozen=True, slots=True)
class NrcEvidence:
    emotions: tuple[tuple[str, ...], ...]  # per token, in NRC_CATEGORIES order; () when no match
    rates: dict[str, float]  # category -> matched word tokens / word tokens
    n_words: int


def nrc_data_path() -> Path:
    spec = util.find_spec("nrclex")
    if spec is None or not spec.submodule_search_locations:
        raise LexiconDataError(_INSTALL_HINT)
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "nrc_en.json"
    if not path.is_file():
        raise LexiconDataError(_INSTALL_HINT)
    return path


@lru_cache(maxsize=1)
def load_nrc_lexicon() -> dict[str, tuple[str, ...]]:
    """word -> categories (sorted in NRC_CATEGORIES order)."""
    with nrc_data_path().open(encoding="utf-8") as f:
        raw = json.load(f)
    return {w.lower(): tuple(sorted(set(cats) & _ORDER.keys(), key=_ORDER.__getitem__)) for w, cats in raw.items()}


def _stems(stem: str) -> list[str]:
    """Undo a doubled consonant (``stopp`` -> ``stop``) or restore a final e (``lov`` -> ``love``)."""
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
        return [stem] if stem[-1] in "lsz" else [stem[:-1], stem]  # "kill", "pass" stay
    cvc = len(stem) >= 3 and stem[-1] not in _VOWELS and stem[-2] in _VOWELS and stem[-3] not in _VOWELS
    if cvc:
        return [stem + "e", stem]  # hat -> hate, confus -> confuse
    return [stem] if stem.endswith(("st", "ss")) else [stem, stem + "e"]  # cast; danc -> dance


# Words whose suffix rules land on an unrelated NRC entry.
_NO_LEMMA = frozenset({"morning", "evening", "james", "during", "nothing", "something", "anything"})


def candidate_lemmas(word: str) -> list[str]:
    """Cheap lemma candidates for a lowercase word, most specific first."""
    out: list[str] = []
    n = len(word)
    if n <= 3 or word in _NO_LEMMA:
        return out
    if word.endswith(("ies", "ied")):
        out.append(word[:-3] + "y")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    if word.endswith("ed"):
        out.extend(_stems(word[:-2]))
    if word.endswith("ing") and n > 5:
        out.extend(_stems(word[:-3]))
    if word.endswith("ily"):
        out.append(word[:-3] + "y")
    elif word.endswith("ly"):
        out.append(word[:-2])
    if word.endswith("iest"):
        out.append(word[:-4] + "y")
    elif word.endswith("est"):  # comparatives only: doubled consonant or final e (biggest, nicest)
        stem = word[:-3]
        out.extend([stem[:-1]] if len(stem) > 2 and stem[-1] == stem[-2] else [])
        out.append(word[:-2])
    if word.endswith("ier"):
        out.append(word[:-3] + "y")
    elif word.endswith("er"):
        stem = word[:-2]
        out.extend([stem[:-1]] if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls" else [])
        out.append(word[:-1])
    return [c for c in out if len(c) > 2]


class NrcAnnotator:
    """NRC categories per word token and per-category rates."""

    name = "nrc"

    def __init__(self, lexicon: dict[str, tuple[str, ...]] | None = None) -> None:
        self.lexicon = lexicon if lexicon is not None else load_nrc_lexicon()
        self._cache: dict[str, tuple[str, ...]] = {}

    def lookup(self, lower: str) -> tuple[str, ...]:
        hit = self._cache.get(lower)
        if hit is not None:
            return hit
        lex = self.lexicon
        hit = lex.get(lower)
        if hit is None:
            hit = next((lex[c] for c in candidate_lemmas(lower) if c in lex), ())
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[lower] = hit
        return hit

    def annotate(self, docs: Sequence[Doc]) -> list[NrcEvidence]:
        out = []
        for doc in docs:
            skip = doc.identity  # protected-attribute words: no emotion
            emotions = tuple(
                self.lookup(t.lower) if t.kind == WORD and i not in skip else () for i, t in enumerate(doc.tokens)
            )
            n_words = word_count(doc)
            counts = dict.fromkeys(NRC_CATEGORIES, 0)
            for cats in emotions:
                for c in cats:
                    counts[c] += 1
            rates = {c: (counts[c] / n_words if n_words else 0.0) for c in NRC_CATEGORIES}
            out.append(NrcEvidence(emotions, rates, n_words))
        return out
