"""Derived "un" + positive-word valences (lexicons/derived.py) and their use by the annotator."""

from __future__ import annotations

import pytest
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.derived import NOT_DERIVED, derived_valences
from affectlens.lexicons.vader import load_vader_lexicon, load_valence_lexicon
from vaderSentiment.vaderSentiment import N_SCALAR


def test_un_plus_positive_word_is_the_word_negated() -> None:
    stock = load_vader_lexicon()
    assert "unhelpful" not in stock and stock["helpful"] >= 1.0
    derived = derived_valences(stock)
    assert derived["unhelpful"] == pytest.approx(stock["helpful"] * N_SCALAR, abs=1e-3)
    assert derived["unhelpful"] < 0


def test_only_missing_words_from_positive_roots_are_derived() -> None:
    derived = derived_valences({"happy": 2.7, "unhappy": -1.8, "hate": -2.7, "meh": 0.5, "like": 2.0})
    assert "unhappy" not in derived  # VADER's own entry wins
    assert "unhate" not in derived and "unmeh" not in derived  # negative or weak roots
    assert "unlike" in NOT_DERIVED and "unlike" not in derived  # a preposition, not "like" negated
    assert derived == {}


def test_the_scoring_lexicon_keeps_every_stock_value() -> None:
    stock, scoring = load_vader_lexicon(), load_valence_lexicon()
    assert all(scoring[w] == v for w, v in stock.items())
    assert len(scoring) > len(stock)


@pytest.fixture(scope="module")
def pipe() -> LexiconPipeline:
    return LexiconPipeline(LexiconConfig(use_nrc=False, use_parser=False))


def test_derived_words_carry_evidence_and_negate(pipe: LexiconPipeline) -> None:
    plain, negated = pipe.analyze_batch(["The staff were unhelpful.", "The staff were not unhelpful."])
    assert plain.vader["compound"] < -0.05
    assert negated.vader["compound"] > 0.05
