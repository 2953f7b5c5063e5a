"""Where a text turns (lexicons/contrast.py): the clause after the turn decides, as after VADER's "but"."""

from __future__ import annotations

import pytest
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.contrast import turn_index
from affectlens.lexicons.features import FEATURE_NAMES
from affectlens.lexicons.tokenize import tokenize


@pytest.fixture(scope="module")
def pipe() -> LexiconPipeline:
    return LexiconPipeline(LexiconConfig(use_nrc=False))


def turn_word(text: str) -> str | None:
    tokens = tokenize(text)
    index = turn_index([t.lower for t in tokens], tokens)
    return None if index is None else tokens[index].text


@pytest.mark.parametrize(
    ("text", "word", "sign"),
    [
        ("The staff were kind, but the room was dirty.", "but", -1),
        ("Although the lobby looked lovely, the room was awful.", "the", -1),
        ("Even though the queue was horrible, the concert was wonderful.", "the", +1),
        ("Despite the awful weather, we had a great day.", "we", +1),
        ("The screen is great, yet the battery is terrible.", "yet", -1),
        ("The menu looked boring; however, every dish was delicious.", "however", +1),
        ("My uncle hated the book, whereas I loved it.", "whereas", +1),
        ("I used to love this cafe; nowadays I hate it.", "nowadays", -1),
        ("At first the app was a nightmare. Now it is wonderful.", "Now", +1),
    ],
)
def test_the_clause_after_the_turn_decides(pipe: LexiconPipeline, text: str, word: str, sign: int) -> None:
    analysis = pipe.analyze(text)
    assert turn_word(text) == word
    compound = analysis.vader["compound"]
    assert (compound >= 0.05) - (compound <= -0.05) == sign
    after = float(analysis.features[FEATURE_NAMES.index("post_contrast_valence")])
    assert (after > 0) - (after < 0) == sign


@pytest.mark.parametrize(
    "text",
    [
        "The hotel was anything but clean.",  # "anything but" is a negation, not a turn
        "While I was there it was great.",  # no comma closes the concessive clause
        "It is now good.",  # "now" with no earlier time to turn from
        "Once again the food was great.",  # "once" without a later present
        "I love it, and my sister loves it too.",
    ],
)
def test_no_turn(pipe: LexiconPipeline, text: str) -> None:
    assert turn_word(text) is None
    assert pipe.analyze(text).features[FEATURE_NAMES.index("post_contrast_valence")] == 0.0
