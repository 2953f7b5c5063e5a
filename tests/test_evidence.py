"""The gated decisive-evidence features (affectlens.evidence) and the stacker that reads them."""

from __future__ import annotations

import numpy as np
import pytest

from affectlens.ensemble import SentimentStacker, stacker_features
from affectlens.evidence import EVIDENCE_FEATURES, evidence_names, gate_values
from affectlens.labels import IRONY_INDEX


def _columns(texts: list[str]) -> tuple[list, dict[str, np.ndarray]]:
    from affectlens.lexicons import LexiconPipeline
    from affectlens.lexicons.features import FEATURE_NAMES

    analyses = LexiconPipeline().analyze_batch(texts)
    full = np.stack([a.features for a in analyses]).astype(float)
    return analyses, {name: full[:, j] for j, name in enumerate(FEATURE_NAMES)}


def test_gates_open_on_the_phenomena_they_name_and_stay_shut_on_plain_text() -> None:
    texts = [
        "The battery is not good.",  # every polar word negated
        "I expected the update to be awful, but it wasn't.",  # elliptic
        "The screen is dim but the battery is great.",  # contrast
        "Works as described 👎",  # emoji with valence
        "The battery is good.",  # nothing decisive
    ]
    _, columns = _columns(texts)
    gates = gate_values(columns, None)
    assert "irony" not in gates
    assert gates["full_negation"].tolist() == [1, 1, 0, 0, 0]  # the elliptic negation scopes "awful" too
    assert gates["elliptic_negation"][1] == 1 and gates["elliptic_negation"][[0, 2, 3, 4]].sum() == 0
    assert gates["contrast"][2] == 1 and gates["contrast"][4] == 0
    assert gates["emoji"].tolist() == [0, 0, 0, 1, 0]
    assert gates["emoji_alone"].tolist() == [0, 0, 0, 1, 0]  # "Works as described": no polar word


def test_the_emoji_alone_gate_opens_only_where_the_words_are_neutral() -> None:
    texts = ["Leaving the gym now 😞", "That is so precious and sweet 😭", "What a great phone 😡", "Home now 🤔"]
    _, columns = _columns(texts)
    gates = gate_values(columns, None)
    assert gates["emoji"].tolist() == [1, 1, 1, 0]  # 🤔 has no valence
    assert gates["emoji_alone"].tolist() == [1, 0, 0, 0]
    assert columns["word_compound"][1] > 0.05 > columns["vader_compound"][0]  # the words alone, emoji left out


def test_evidence_columns_are_the_gate_times_the_lexicon_vote_or_the_centred_network_logits() -> None:
    analyses, _ = _columns(["The battery is not good.", "The battery is good."])
    logits = np.zeros((2, IRONY_INDEX + 1))
    logits[:, :3] = [[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]]
    logits[:, IRONY_INDEX] = [0.0, 50.0]
    names = ("full_negation*lexicon_negative", "full_negation*lexicon_positive", "full_negation*network_positive")
    got = stacker_features(logits, analyses, (*names, "irony*lexicon_positive"))
    assert got[0, :3].tolist() == [1.0, 0.0, 3.0]  # negated "good" votes negative; network centred: 6 - 3
    assert got[1, :3].tolist() == [0.0, 0.0, 0.0]  # gate shut
    assert got[:, 3] == pytest.approx([0.0, 1.0])  # irony gate = P(ironic), the plain "good" votes positive
    logits[:, IRONY_INDEX] = [0.5, -0.5]  # P(ironic) 0.62 and 0.38
    ironic = stacker_features(logits, analyses, ("ironic*lexicon_negative", "irony*lexicon_positive"))
    assert ironic[:, 0] == pytest.approx([1 / (1 + np.exp(-0.5)), 0.0])  # negated "good"; shut below 0.5
    assert ironic[1, 1] == pytest.approx(1 / (1 + np.exp(0.5)))  # the legacy gate is open everywhere


def test_the_contrast_and_emoji_gates_vote_with_the_clause_after_but_and_the_emoji_itself() -> None:
    analyses, _ = _columns(["The screen is great but the battery is awful.", "What a great phone 👎"])
    names = (
        "contrast*lexicon_negative",
        "contrast*lexicon_positive",
        "emoji*lexicon_negative",
        "emoji*lexicon_positive",
    )
    got = stacker_features(np.zeros((2, IRONY_INDEX)), analyses, names)
    assert got.tolist() == [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]


def test_irony_emoji_and_polar_emoji_next_to_words_open_gates_of_their_own() -> None:
    texts = [
        "Great service as usual 🙄",  # an irony marker on praise
        "That is so precious and sweet 😭",  # a polar emoji next to polar words, no marker
        "Another Monday 🙄",  # a marker on neutral words: the emoji is all the text says
        "Wow, what a great day 😊",
        "Works great, if you like it dying after a week 👎",  # a thumbs-down after praise: a verdict, not a feeling
    ]
    _, columns = _columns(texts)
    gates = gate_values(columns, None)
    assert columns["irony_emoji"].tolist() == [1, 0, 1, 0, 1]
    assert gates["emoji_irony"].tolist() == [1, 0, 0, 0, 1]
    assert gates["emoji_words"].tolist() == [0, 1, 0, 1, 0]
    assert gates["emoji_alone"].tolist() == [0, 0, 1, 0, 0]
    analyses, _ = _columns(texts[:2])
    names = ("emoji_irony*lexicon_negative", "emoji_irony*lexicon_positive", "emoji_words*lexicon_negative")
    got = stacker_features(np.zeros((2, IRONY_INDEX)), analyses, names)
    assert got.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]  # the marker's gate votes with the words it turns


def test_the_idiom_gate_opens_on_a_non_negating_idiom_and_votes_with_the_lexicon() -> None:
    analyses, columns = _columns(["We heard nothing but compliments.", "We heard no compliments.", "No doubt, a mess."])
    assert gate_values(columns, None)["idiom"].tolist() == [1, 0, 1]
    got = stacker_features(np.zeros((3, IRONY_INDEX)), analyses, ("idiom*lexicon_negative", "idiom*lexicon_positive"))
    assert got.tolist() == [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]


def test_evidence_names_leave_out_the_irony_gate_for_a_network_without_the_head() -> None:
    legacy = ("emoji*", "irony*")  # computed for the calibrations that list them, not fitted anew
    assert set(evidence_names(True)) == {n for n in EVIDENCE_FEATURES if not n.startswith(legacy)}
    assert any(n.startswith("ironic*") for n in evidence_names(True))
    assert not any(n.startswith(("irony*", "ironic*")) for n in evidence_names(False))
    analyses, _ = _columns(["fine"])
    with pytest.raises(ValueError, match="irony head"):
        stacker_features(np.zeros((1, IRONY_INDEX)), analyses, ("irony*lexicon_positive",))


def test_a_stacker_learns_to_follow_the_gate_where_the_network_is_confidently_wrong() -> None:
    """On rows where a gate is open the network says the opposite of the label with confidence; elsewhere it is
    right. With the gated columns the stacker overrules it there and keeps it elsewhere; without, it cannot."""
    rng = np.random.default_rng(0)
    n = 1200
    y = rng.integers(0, 3, n)
    gated = rng.random(n) < 0.2
    shown = np.where(gated & (y != 1), 2 - y, y)  # the network's belief: flipped polarity where gated
    logits = np.eye(3)[shown] * 5.0 + rng.normal(0, 0.5, (n, 3))
    vote_neg, vote_pos = (y == 0).astype(float), (y == 2).astype(float)
    z = logits - logits.mean(axis=1, keepdims=True)
    g = gated.astype(float)
    plain = np.stack([g], axis=1)
    evidence = np.stack([g, g * vote_neg, g * vote_pos, g * z[:, 0], g * z[:, 1], g * z[:, 2]], axis=1)
    without = SentimentStacker(alpha=0.1).fit(logits, plain, y).predict_proba(logits, plain).argmax(axis=1)
    with_gate = SentimentStacker(alpha=0.1).fit(logits, evidence, y).predict_proba(logits, evidence).argmax(axis=1)
    polar_gated = gated & (y != 1)
    assert (without[polar_gated] == y[polar_gated]).mean() < 0.2
    assert (with_gate[polar_gated] == y[polar_gated]).mean() > 0.9
    assert (with_gate[~gated] == y[~gated]).mean() > 0.95


def test_generated_rows_count_as_domains_of_their_own_kind() -> None:
    from affectlens.calibrate import calibration_domain

    assert calibration_domain("tweeteval-sentiment") == "tweeteval-sentiment"
    assert calibration_domain("behaviour-fit") == "behaviour-fit"
    assert calibration_domain("augment:negation:sst2") == calibration_domain("augment:contrast:tweeteval-sentiment")
    assert calibration_domain("augment:identity:sst2") == "augment:identity"


def test_the_second_stage_leaves_rows_whose_gates_are_shut_exactly_as_the_first_stage_scored_them() -> None:
    rng = np.random.default_rng(1)
    n = 900
    y = rng.integers(0, 3, n)
    logits = np.eye(3)[y] * 2.0 + rng.normal(0, 1.0, (n, 3))
    gated = (rng.random(n) < 0.3).astype(float)
    features = np.stack([rng.normal(size=n), gated * (y == 0), gated * (y == 2), gated * logits[:, 0]], axis=1)
    two = SentimentStacker(alpha=1.0, evidence_alpha=0.2, evidence_columns=(1, 2, 3)).fit(logits, features, y)
    shut = gated == 0
    first = two._base_scores(logits[shut], features[shut][:, :1])
    np.testing.assert_allclose(two.decision_function(logits[shut], features[shut]), first, atol=1e-12)
    opened = ~shut
    moved = two.decision_function(logits[opened], features[opened]) - two._base_scores(
        logits[opened], features[opened][:, :1]
    )
    assert np.abs(moved).max() > 0.1  # where a gate is open the evidence counts


def test_a_column_with_a_weaker_penalty_of_its_own_moves_further_and_survives_a_round_trip() -> None:
    rng = np.random.default_rng(2)
    n = 900
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1.0, (n, 3))
    gate = (rng.random(n) < 0.3).astype(float)
    vote = gate * (y == 0)  # the same informative vote in two columns
    features = np.stack([rng.normal(size=n), vote, vote], axis=1)
    model = SentimentStacker(alpha=1.0, evidence_alpha=5.0, evidence_columns=(1, 2), evidence_column_alpha={2: 0.05})
    model.fit(logits, features, y)
    weak, strong = np.abs(model.evidence_coef_[:, 1]).sum(), np.abs(model.evidence_coef_[:, 0]).sum()
    assert weak > 3 * strong
    again = SentimentStacker.from_dict(model.to_dict())
    assert again.evidence_column_alpha == {2: 0.05}
    np.testing.assert_allclose(
        again.decision_function(logits, features), model.decision_function(logits, features), atol=1e-5
    )


def test_the_negation_ignored_gate_opens_where_the_network_reads_a_text_as_its_affirmed_counterpart() -> None:
    from affectlens.evidence import evidence_columns
    from affectlens.views import needed_views

    texts = [
        "I cannot say that I enjoyed the film.",
        "The film was not boring.",
        "We did not go.",
        "The plot was not good and the acting was awful.",
        "It was good.",
    ]
    _, columns = _columns(texts)
    said = np.array([[0.0, 0.0, 3.0], [3.0, 0.0, 0.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    affirmed = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 1.0], [0.0, 2.0, 0.0], [2.0, 0.0, 0.0], [np.nan] * 3])
    gates = gate_values(columns, None, {"affirmed": affirmed}, said)
    # 0: positive on both, the lexicon votes negative; 1: the network read the negation; 2: the counterpart is
    # neutral; 3: negative on both, but so is the lexicon; 4: no negation (no counterpart)
    assert gates["negation_ignored"].tolist() == [1, 0, 0, 0, 0]
    assert gate_values(columns, None, {"affirmed": affirmed})["negation_ignored"].sum() == 0  # no text logits
    name = "negation_ignored*network_positive"
    assert needed_views([name]) == ("affirmed",)  # the gate reads the affirmed view although its terms do not
    with pytest.raises(ValueError, match="affirmed"):
        evidence_columns(columns, said, None, [name])
    got = evidence_columns(columns, said, None, [name], {"affirmed": affirmed})[name]
    assert got.tolist() == [2.0, 0.0, 0.0, 0.0, 0.0]  # the text's centred positive logit, where the gate is open


def test_the_negated_fact_gate_opens_where_only_the_negation_made_the_network_read_a_fact_as_polar() -> None:
    texts = ["Her tutor isn't working this Thursday.", "The film was not good.", "We did not go.", "We went."]
    _, columns = _columns(texts)
    said = np.array([[3.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
    affirmed = np.array([[0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [np.nan] * 3])
    gates = gate_values(columns, None, {"affirmed": affirmed}, said)
    # 0: a negated fact read negative; 1: the lexicon finds "not good" polar; 2: the network reads it neutral;
    # 3: no negation (no counterpart)
    assert gates["negated_fact"].tolist() == [1, 0, 0, 0]


def test_the_answered_gate_opens_on_a_yes_no_question_with_its_answer_only() -> None:
    texts = ["Was our tutor careless? No, not at all.", "Would we go back? In a heartbeat.", "Was it any good?"]
    _, columns = _columns(texts)
    assert gate_values(columns, None)["answered"].tolist() == [1, 1, 0]
