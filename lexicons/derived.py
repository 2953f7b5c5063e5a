"""Valences VADER lacks, derived from its own entries: "un" + a positive word.

VADER lists "satisfying" and "helpful" but not "unsatisfying" or "unhelpful", so a review saying the service was
unhelpful has no lexicon evidence at all, and neither has a negation of it ("not unhelpful"). ``derived_valences``
gives each missing "un" + word, where the word's valence is at least ``MIN_ROOT_VALENCE``, the valence of the
word negated (``valence * N_SCALAR``, VADER's own negation factor): the same number VADER gives "not helpful".

Only positive roots: on the words that occur in TweetEval, SST-2, GoEmotions and Financial PhraseBank training
text, "un" + positive word is negative almost always (unfunny, unconvincing, uninspired, unpopular, untrue),
while "un" + negative word often is not positive (undead, unprovoked, unforced). Other prefixes mislead
("display", "invaluable", "indie"). ``NOT_DERIVED`` lists the words that look derived and are not ("unlike").
"""

from __future__ import annotations

from collections.abc import Mapping

from vaderSentiment.vaderSentiment import N_SCALAR

__all__ = ["MIN_ROOT_VALENCE", "NOT_DERIVED", "derived_valences"]

MIN_ROOT_VALENCE = 1.0
NOT_DERIVED = frozenset({"unlike"})  # "un" + "like" (+1.5): a preposition, not "like" negated


def derived_valences(lexicon: Mapping[str, float]) -> dict[str, float]:
    """The "un" + positive-word entries missing from ``lexicon``, with their negated valence."""
    out: dict[str, float] = {}
    for word, valence in lexicon.items():
        derived = "un" + word
        if valence >= MIN_ROOT_VALENCE and word.isalpha() and derived not in lexicon and derived not in NOT_DERIVED:
            out[derived] = round(valence * N_SCALAR, 3)
    return out
