"""VADER re-implementation: parity with stock vaderSentiment 3.3.2, the two fixed bugs, totals."""

from __future__ import annotations

import pytest
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.emoji import load_emoji_valence, normalize_emoji
from affectlens.lexicons.vader import punctuation_emphasis
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer, SentiText, normalize

SIA = SentimentIntensityAnalyzer()


@pytest.fixture(scope="module")
def pipe() -> LexiconPipeline:
    # Parity needs no parser (texts without cues are never parsed) and no NRC.
    return LexiconPipeline(LexiconConfig(use_parser=False, use_nrc=False))


def stock_sentiments(text: str) -> tuple[list[str], list[float]]:
    """Stock VADER's per-token valences: polarity_scores up to the "but" rule, using its own methods."""
    sentitext = SentiText(text)
    words = sentitext.words_and_emoticons
    sentiments: list[float] = []
    for i, item in enumerate(words):
        if item.lower() in BOOSTER_DICT or (
            i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"
        ):
            sentiments.append(0)
            continue
        sentiments = SIA.sentiment_valence(0, sentitext, item, i, sentiments)
    return words, SIA._but_check(words, sentiments)


def stock_compound(text: str) -> float:
    """Stock compound before rounding."""
    _, sentiments = stock_sentiments(text)
    total = float(sum(sentiments))
    punct = SIA._punctuation_emphasis(text)
    total = total + punct if total > 0 else total - punct if total < 0 else total
    return normalize(total)


# Varied texts without negation cues, emoji, or equal valences around "but".
PARITY = [
    "VADER is smart, handsome, and funny.",
    "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "The book was good.",
    "At least it is a decent book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is dull.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "Other sentiment analysis tools can be quite bad.",
    "On the other hand, VADER is quite bad ass",
    "VADER is such a badass!",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "I love this phone so much, the camera is amazing",
    "The service was slow and the waiter was rude.",
    "Meh. It was okay I guess??",
    "Worst. Purchase. Ever.",
    "This is the best day of my life!!!!",
    "I am kind of sad about the news",
    "He is sort of happy with the result",
    "The movie was a total disaster",
    "Absolutely brilliant performance by the whole cast",
    "The hotel room was dirty and smelled awful",
    "LOL this is hilarious :D",
    "I'm so excited for the weekend!",
    "The update broke everything, thanks a lot",
    "Happy birthday to my best friend",
    "We waited at the bus stop for an hour",
    "That pizza was to die for",
    "They played really well but lost anyway",
    "I feel sorta okay today",
    "What?? Why would they do that???",
    "GREAT job everyone",
    "good good good",
    "Prices rose 5% this quarter, analysts said.",
    "@user thanks for the follow!! #blessed http://t.co/x",
    "ok, fine. whatever :(",
    "The new album is EXTREMELY disappointing",
]


@pytest.mark.parametrize("text", PARITY)
def test_matches_stock_vader(pipe: LexiconPipeline, text: str) -> None:
    a = pipe.analyze(text)
    words, sentiments = stock_sentiments(text)
    assert [t.text for t in a.tokens] == words
    assert [t.valence for t in a.tokens] == pytest.approx(sentiments, abs=1e-12)
    assert a.vader["compound"] == pytest.approx(stock_compound(text), abs=1e-9)
    stock = SIA.polarity_scores(text)
    assert round(a.vader["compound"], 4) == stock["compound"]
    for k in ("neg", "neu", "pos"):
        assert round(a.vader[k], 3) == stock[k]


_VOCAB = [
    "good", "GOOD", "great", "bad", "BAD", "terrible", "love", "hate", "okay", "sad", "happy", "funny",
    "very", "VERY", "really", "extremely", "slightly", "kind", "of", "sort", "least", "at", "the", "shit",
    "bomb", "so", "this", "movie", "is", "was", "it", "and", "a", ":)", ":(", "lol", "!", "?", "wow!!", "meh.",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=14).map(" ".join))
def test_matches_stock_vader_property(text: str) -> None:
    """Random texts from lexicon words, boosters, caps, idioms and punctuation (no cues, no "but")."""
    a = PIPE_FOR_PROPERTY.analyze(text)
    words, sentiments = stock_sentiments(text)
    assert [t.text for t in a.tokens] == words
    assert [t.valence for t in a.tokens] == pytest.approx(sentiments, abs=1e-12)
    assert a.vader["compound"] == pytest.approx(stock_compound(text), abs=1e-9)


PIPE_FOR_PROPERTY = LexiconPipeline(LexiconConfig(use_parser=False, use_nrc=False, use_emoji=False))


def test_but_rule_bug_fixed(pipe: LexiconPipeline) -> None:
    """Stock finds positions by value: "nice" (1.8) halved is 0.9 == "okay" (0.9), so stock halves
    "nice" twice and never weights "okay". We weight by position."""
    text = "The food was nice but the service was okay"
    _, stock = stock_sentiments(text)
    assert [s for s in stock if s] == [pytest.approx(0.45), pytest.approx(0.9)]  # the bug
    a = pipe.analyze(text)
    vals = {t.text: t.valence for t in a.tokens if t.valence}
    assert vals == {"nice": pytest.approx(0.9), "okay": pytest.approx(1.35)}  # 1.8 * 0.5, 0.9 * 1.5
    assert SIA.polarity_scores(text)["compound"] == pytest.approx(normalize(1.35), abs=1e-4)
    assert a.vader["compound"] == pytest.approx(normalize(2.25))


def test_but_rule_unchanged_without_equal_values(pipe: LexiconPipeline) -> None:
    text = "The food was great but the service was awful"
    _, stock = stock_sentiments(text)
    assert [t.valence for t in pipe.analyze(text).tokens] == pytest.approx(stock)


def test_but_of_anything_but_is_no_contrast(pipe: LexiconPipeline) -> None:
    """The "but" of "anything but"/"nothing but" does not weight the text; the next "but" does."""
    vals = {t.text: t.valence for t in pipe.analyze("The trip was anything but relaxing").tokens if t.valence}
    assert vals == {"relaxing": pytest.approx(2.2 * -0.74)}  # negated by "anything but", not * 1.5
    text = "Sadly it was nothing but rain, but the hotel was lovely"
    vals = {t.text: t.valence for t in pipe.analyze(text).tokens if t.valence}
    assert vals == {"Sadly": pytest.approx(-1.8 * 0.5), "lovely": pytest.approx(2.8 * 1.5)}
    # After a comma "Anything, but" is the ordinary contrast.
    _, stock = stock_sentiments("Anything, but the ending was bad")
    assert [t.valence for t in pipe.analyze("Anything, but the ending was bad").tokens] == pytest.approx(stock)


@pytest.mark.parametrize(
    ("emoji", "sign"),
    [("👍", 1), ("👍🏽", 1), ("👎", -1), ("👎🏿", -1), ("😡", -1), ("😡\ufe0f", -1), ("🙄", -1), ("❤️", 1), ("🔥", 1)],
)
def test_emoji_bug_fixed(pipe: LexiconPipeline, emoji: str, sign: int) -> None:
    """Stock scores 👍 👎 😡 🙄 (and any emoji with U+FE0F or a skin tone) as 0, and 🔥 as negative."""
    stock = SIA.polarity_scores(f"the show {emoji}")["compound"]
    ours = pipe.analyze(f"the show {emoji}").vader["compound"]
    assert (ours > 0) - (ours < 0) == sign
    assert (stock > 0) - (stock < 0) != sign


def test_emoji_not_double_counted(pipe: LexiconPipeline) -> None:
    """Stock replaces 😂 by "face with tears of joy" and scores those words; we score the emoji once."""
    a = pipe.analyze("great 😂")
    assert [t.text for t in a.tokens] == ["great", "😂"]
    assert a.valence_total == pytest.approx(SIA.lexicon["great"] + load_emoji_valence()[normalize_emoji("😂")])


TOTALS = [
    "I love it!!!",
    "What?? Really???",
    "not good, not bad, just meh?!",
    "I don't think it's good but the cast was great!",
    "Great 👍🏻 but slow 😡😡 🙄",
    "nothing here",
    "!!!",
]


@pytest.mark.parametrize("text", TOTALS)
def test_token_valences_add_up(text: str) -> None:
    a = LexiconPipeline().analyze(text)
    s = sum(t.valence for t in a.tokens)
    punct = punctuation_emphasis(text)
    expected = s + punct if s > 0 else s - punct if s < 0 else s
    assert a.valence_total == pytest.approx(expected, abs=1e-12)
    assert a.vader["compound"] == pytest.approx(normalize(a.valence_total), abs=1e-12)
    assert -1.0 <= a.vader["compound"] <= 1.0
    if a.tokens:
        assert a.vader["neg"] + a.vader["neu"] + a.vader["pos"] == pytest.approx(1.0, abs=1e-9)


def test_a_hyphenated_spelling_of_a_closed_compound_has_its_valence(pipe: LexiconPipeline) -> None:
    # VADER lists "warmhearted" and "heartwarming", not "warm-hearted" / "heart-warming"; stock VADER scores 0.
    a = pipe.analyze("A warm-hearted, heart-warming film.")
    assert [t.valence for t in a.tokens if t.valence] == pytest.approx([1.8, 2.1])
    assert SIA.polarity_scores("A warm-hearted, heart-warming film.")["compound"] < a.vader["compound"]
    assert pipe.analyze("A well-lit, half-empty room.").vader["compound"] == 0.0  # no such closed compounds
