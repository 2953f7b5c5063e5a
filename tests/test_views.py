"""The network's views of a text (affectlens.views): the clause that decides and the affirmed text, derived by the
lexicon, read by the network in the same pass, weighed through their gates."""

from __future__ import annotations

import numpy as np
import pytest
from affectlens.lexicons import LexiconPipeline

from affectlens.ensemble import stacker_features
from affectlens.evidence import gate_values
from affectlens.labels import IRONY_INDEX
from affectlens.views import needed_views, split_views, view_logits, view_text, with_views


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("I once enjoyed the tablet; nowadays I despise it.", "nowadays I despise it."),
        ("Great screen but the battery died.", "but the battery died."),
        ("Although it looked nice, it was awful.", "it was awful."),
        ("The critics called the concert awful; I thought it was wonderful", "I thought it was wonderful"),
        ("According to my uncle, the film is superb; I myself loathe it.", "I myself loathe it."),
        ("People online say the phone is great. In my view it is flimsy.", "In my view it is flimsy."),
    ],
)
def test_the_deciding_clause_is_the_turn_or_the_writers_own_view(lexicon: LexiconPipeline, text, clause) -> None:
    analysis = lexicon.analyze_batch([text])[0]
    assert view_text("focus", analysis) == clause


@pytest.mark.parametrize(
    ("text", "view", "claim"),
    [
        ("Was the hotel clean? Definitely.", "focus", "The hotel clean."),  # a yes asserts the claim
        ("Did the staff seem friendly? Yes, always.", "focus", "The staff seem friendly."),
        ("We stayed two nights. Was the room quiet? Not really.", "affirmed", "The room quiet."),  # a no denies it
        ("Is it bright? No doubt.", "focus", "It bright."),  # an idiom of assent, though it starts like a no
        # a question asking for an endorsement states it, so a yes praises and a no denies the praise
        ("Would we go back? Never.", "affirmed", "Gladly, we go back."),
        ("Would we go back to the spa? In a heartbeat.", "focus", "Gladly, we go back to the spa."),
        ("Would you buy it again? Absolutely not.", "affirmed", "Gladly, you buy it again."),
        ("Would I return it? Yes.", "focus", "I return it."),  # returning a product endorses nothing
        ("Did it break again? Yes.", "focus", "It break again."),  # only a person endorses
    ],
)
def test_an_answered_question_gives_its_claim_to_the_view_the_answer_says(lexicon, text, view, claim) -> None:
    analysis = lexicon.analyze_batch([text])[0]
    other = "affirmed" if view == "focus" else "focus"
    assert view_text(view, analysis) == claim and view_text(other, analysis) is None


def test_a_negated_answer_denies_the_claim(lexicon: LexiconPipeline) -> None:
    for text in ("Was it worth it? I don't think so.", "Was it worth it? Hardly."):
        analysis = lexicon.analyze_batch([text])[0]
        assert analysis.affirmed == "It worth it." and analysis.focus is None


@pytest.mark.parametrize(
    ("text", "affirmed"),
    [("Hardly.", None), ("Not!", None), ("I am not happy :)", "I am happy :)"), ("I love it but", None)],
)
def test_views_keep_the_text_around_an_edit_and_have_words(lexicon: LexiconPipeline, text, affirmed) -> None:
    analysis = lexicon.analyze_batch([text])[0]
    assert analysis.affirmed == affirmed and analysis.focus is None


@pytest.mark.parametrize(
    "text",
    [
        "Is it any good?",
        "Why is it so loud? Because of the fans.",
        "Is it good? I will tell you after the trip.",
        "Was it worth it? Meh.",  # neither yes nor no
        "Is this one http://x.com/?q ok",  # the "?" of a link ends no question
    ],
)
def test_a_question_without_a_short_answer_has_no_claim(lexicon: LexiconPipeline, text: str) -> None:
    analysis = lexicon.analyze_batch([text])[0]
    assert analysis.focus is None and analysis.affirmed is None


@pytest.mark.parametrize(
    "text",
    [
        "The battery is great.",
        "Everyone says the food is great.",  # the only view given
        "I loved it; my friends said it was dull.",  # reported view last: nothing after it
        "I have nothing but praise for the staff.",  # "nothing but" is no contrast
        "The guide was meant to be kind, but they were not.",  # a bare negation: the elliptic rules' job
        "They told me I would enjoy it; I did not.",
    ],
)
def test_a_text_without_a_turn_has_no_focus_clause(lexicon: LexiconPipeline, text: str) -> None:
    assert view_text("focus", lexicon.analyze_batch([text])[0]) is None


def test_views_ride_in_the_same_batch_and_come_back_to_their_rows(lexicon: LexiconPipeline) -> None:
    texts = ["Plain and simple.", "Nice start, but it broke.", "It is not cheap."]
    batch, rows = with_views(texts, lexicon.analyze_batch(texts), ("focus", "affirmed"))
    assert batch == [*texts, "but it broke.", "It is cheap."] and rows == {"focus": [1], "affirmed": [2]}
    logits = np.arange(len(batch) * 4, dtype=float).reshape(len(batch), 4)
    own, views = split_views(logits, len(texts), rows)
    assert own.tolist() == logits[:3].tolist()
    assert np.isnan(views["focus"][[0, 2]]).all() and views["focus"][1].tolist() == logits[3, :3].tolist()
    assert np.isnan(views["affirmed"][[0, 1]]).all() and views["affirmed"][2].tolist() == logits[4, :3].tolist()


@pytest.mark.parametrize(
    ("text", "affirmed"),
    [
        ("Her tutor isn't working this Thursday.", "Her tutor is working this Thursday."),
        ("Nobody I know liked the film.", "Everybody I know liked the film."),
        ("I cannot honestly say that I enjoyed it.", "I can honestly say that I enjoyed it."),
        ("No one on our team hated the game.", "Everyone on our team hated the game."),
        ("The tablet was far from delightful.", "The tablet was delightful."),
        ("Neither the film nor the game was great.", "Both the film and the game was great."),
        ("There were no issues, honestly.", "There were issues, honestly."),
        ("i dont like it", "i do like it"),
    ],
)
def test_the_affirmed_view_turns_each_active_cue(lexicon: LexiconPipeline, text: str, affirmed: str) -> None:
    assert view_text("affirmed", lexicon.analyze_batch([text])[0]) == affirmed


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("The camera is not just great; it is fabulous.", "The camera is great; it is fabulous."),
        ("Nothing but kind words for the staff.", "Only kind words for the staff."),
        ("Without a doubt, the tour was superb.", "Certainly, the tour was superb."),
        ("No doubt about it, the food was awful.", "Certainly, the food was awful."),
        ("It was not only cheap but also fast.", "It was cheap but also fast."),
    ],
)
def test_the_network_reads_a_non_negating_idiom_in_plain_words(lexicon: LexiconPipeline, text, plain) -> None:
    analyses = lexicon.analyze_batch([text])
    assert analyses[0].plain == plain and analyses[0].affirmed is None
    assert with_views([text], analyses, (), plain=True) == ([plain], {})
    assert with_views([text], analyses, ())[0] == [text]  # an older calibration: the text as written


def test_a_negation_is_no_idiom_for_the_plain_form(lexicon: LexiconPipeline) -> None:
    text = "I do not doubt it, and no doubt you will love it."  # "not doubt" negates; "no doubt" is the idiom
    assert lexicon.analyze_batch([text])[0].plain == "I do not doubt it, and certainly you will love it."
    assert lexicon.analyze_batch(["It was good."])[0].plain is None
    refund = lexicon.analyze_batch(["There is no question of a refund."])[0]  # a negation, not the idiom
    assert refund.plain is None and refund.affirmed == "There is question of a refund."


@pytest.mark.parametrize(
    "text",
    [
        "The camera is not just great; it is fabulous.",
        "No doubt it is the best.",
        "I have never seen a festival this brilliant.",  # emphasis, not negation
        "We couldn't be happier with it.",
        "A fine phone.",
    ],
)
def test_idioms_and_plain_text_have_no_affirmed_view(lexicon: LexiconPipeline, text: str) -> None:
    assert view_text("affirmed", lexicon.analyze_batch([text])[0]) is None


class _CountingNetwork:
    """Stands in for NeuralModel.logits: records the batches it is given, answers by text length."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def logits(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([[len(t), 0.0, -len(t), 0.0] for t in texts])


def test_view_logits_make_one_network_pass(lexicon: LexiconPipeline) -> None:
    texts = ["Nice start, but it broke.", "Fine."]
    network = _CountingNetwork()
    own, views = view_logits(network, texts, lexicon.analyze_batch(texts), ("focus",), plain=True)
    assert network.batches == [[*texts, "but it broke."]]
    assert own[:, 0].tolist() == [25.0, 5.0] and views["focus"][0, 0] == 13.0 and np.isnan(views["focus"][1]).all()


def test_the_focus_gate_opens_with_a_clause_and_stays_shut_for_an_elliptic_negation(lexicon: LexiconPipeline) -> None:
    from affectlens.lexicons.features import FEATURE_NAMES

    texts = ["Nice start, but it broke.", "I expected it to be awful, but it wasn't.", "Fine."]
    analyses = lexicon.analyze_batch(texts)
    full = np.stack([a.features for a in analyses]).astype(float)
    columns = {name: full[:, j] for j, name in enumerate(FEATURE_NAMES)}
    focus = np.array([[2.0, 0.0, -2.0], [1.0, 1.0, 1.0], [np.nan] * 3])
    assert gate_values(columns, None, {"focus": focus})["focus"].tolist() == [True, False, False]
    assert gate_values(columns, None, None)["focus"].tolist() == [False, False, False]
    names = ("focus*focus_negative", "focus*focus_neutral", "focus*focus_positive")
    logits = np.zeros((3, IRONY_INDEX))
    got = stacker_features(logits, analyses, names, {"focus": focus})
    assert got.tolist() == [[2.0, 0.0, -2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]  # centred focus logits, gated
    with pytest.raises(ValueError, match="focus evidence columns need"):
        stacker_features(logits, analyses, names)


def test_only_calibrations_with_a_views_columns_ask_for_its_extra_rows() -> None:
    assert needed_views(("vader_compound", "focus*focus_positive")) == ("focus",)
    assert needed_views(("affirmed*affirmed_negative", "focus*focus_neutral")) == ("focus", "affirmed")
    assert needed_views(("vader_compound", "contrast*network_positive")) == ()


def test_the_hybrid_engine_reads_texts_plain_and_their_views_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from affectlens.engine import Engine

    engine = Engine()  # the shipped model, calibrated with the views' columns
    assert engine.calibration is not None and engine.calibration.plain_input
    assert needed_views(engine.calibration.feature_names) == ("focus", "affirmed")
    assert engine.neural is not None
    batches: list[list[str]] = []
    forward = engine.neural.forward

    def spy(texts, **kwargs):  # type: ignore[no-untyped-def]
        batches.append(list(texts))
        return forward(texts, **kwargs)

    monkeypatch.setattr(engine.neural, "forward", spy)
    texts = ["Great start, but it broke.", "It is not just good; it is great.", "I don't like it.", ""]
    results = engine.score_batch(texts)
    assert batches == [
        ["Great start, but it broke.", "It is good; it is great.", "I don't like it.", "but it broke.", "I do like it."]
    ]
    assert [r.label for r in results[:3]] == ["negative", "positive", "negative"]
    assert getattr(results[3], "code", None) == "empty_text"  # a bad item in place, the rest answered
