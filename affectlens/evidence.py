"""Decisive-evidence features: where the lexicon's parse-based evidence should outweigh the network.

A linear stacker adds lexicon evidence to the network's logits with the same weight everywhere, so it learns
what helps on average: on ordinary text the network is right and the lexicon is noise, and the lexicon is
ignored exactly where it knows better (a negation whose scope covers every polar word, an elliptic "..., but it
wasn't", the clause after a contrastive "but", an emoji, an ironic tone). These features are *gated*: each is
zero unless its gate is open, so the stacker can learn, per gate, how far to follow the lexicon's vote and how
far to discount the network there.

For each gate ``g`` (0/1, irony in [0, 1]) and each term ``t`` the column ``"g*t"`` is ``g * t``, with terms:

* ``lexicon_negative``, ``lexicon_positive``: the lexicon's vote, 0/1: for the contrast gate the sign of the
  valence after the contrastive "but", for the emoji gates the sign of the emoji's own valence (``emoji_irony``:
  the sign of the words around the marker), for the others
  the VADER compound beyond its ±0.05 band (after our negation scope);
* ``network_negative``, ``network_neutral``, ``network_positive``: the network's centred sentiment logits, so a
  negative weight on them turns the network down where the gate is open;
* for the gates of the network's views (``affectlens.views``) only the network's centred logits on the view,
  ``focus_negative`` ... for the deciding clause alone, ``affirmed_negative`` ... for the affirmative counterpart
  of a negated text, so the network's word knowledge (words VADER lacks) decides the turn and the negation too.

=================== =====================================================================================
gate                open when
=================== =====================================================================================
full_negation       every polar word is inside a negation scope (and there is one)
elliptic_negation   an elliptic negation refers back to a polar phrase ("..., but it wasn't")
contrast            polar words follow a contrastive "but"
emoji               an emoji with valence (fitted by calibrations before version 8 of the lexicon features; a
                    new calibration fits the three gates below instead)
emoji_alone         an emoji with valence, and the words alone are neutral (``word_compound`` within ±0.05): the
                    emoji is all the text says ("Leaving the gym now 😞")
emoji_words         an emoji with valence next to polar words, and no irony marker: the emoji mostly colours the
                    words ("so precious and sweet 😭" is praise); its vote is the emoji's sign
emoji_irony         an irony marker (``lexicons.emoji.IRONY_EMOJI``: 🙄 😒 🙃 👎 ...) next to polar words
                    ("Great service as usual 🙄", "Works great 👎"); its vote is the *words'* sign, so the
                    stacker learns how far the marker turns them
idiom               a non-negating idiom read in plain words ("nothing but praise", "no doubt"): the negation cue
                    in it negates nothing, so the lexicon's vote counts where the network reads the cue as "not"
focus               a clause decides the text (the turn of ``contrast.py``, else the writer's own view after
                    reported ones) and is not an elliptic negation
affirmed            an active negation cue: the text has an affirmative counterpart (``lexicons/rephrase.py``)
negation_ignored    the network reads the text as it reads its affirmative counterpart (the same polar label on
                    both: it did not take the negation in) and the lexicon, which did, does not vote that label
                    ("I cannot honestly say that I enjoyed it" reads positive; "wasn't, to be fair,
                    condescending" negative), so the stacker can discount the network's reading there
negated_fact        the network reads a negated text as polar, its affirmative counterpart as neutral, and the
                    lexicon finds nothing polar: the negation alone moved the network ("Her tutor isn't working
                    this Thursday" reads negative), a negated fact stays a fact
praise_frame        a short frame of praise opens a sentence about a situation without praise (``lexicons/sarcasm.py``:
                    "Great, just great: the ferry left without us.") and the network reads the situation (the
                    focus view) as negative: the stacker can weigh the praise's lexicon vote and the network's
                    reading of the whole text there. Around any other situation the frame is sincere and the
                    focus gate stays shut too
answered            a yes/no question and its answer (``rephrase.answered_question``): the network's reading of the
                    whole exchange ("Was it careless? No, not at all." reads negative) can be discounted where the
                    claim's view decides
irony               P(ironic) from the network's irony head (models with the head only; fitted by calibrations
                    before version 8 of the lexicon features)
ironic              P(ironic) where the irony head says ironic (P >= 0.5), else shut
=================== =====================================================================================

The stacker fits these columns in a second stage of their own (``SentimentStacker`` with ``evidence_columns``): on
top of the frozen scores of the rest, with a weaker penalty (``stacker_choice.STACKER_EVIDENCE_ALPHA``), so where a
gate is open the lexicon can outvote the network without moving the rows where no gate is open.

The names are stable: a calibration lists the columns it was fitted on (``feature_names``), and a column is
computed only when asked for. Pure numpy; no parse or network pass of its own (the views' logits come from the
caller's network pass).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from affectlens.labels import VADER_THRESHOLD

VIEW_GATES: tuple[str, ...] = ("focus", "affirmed")  # one per view of affectlens.views
GATES: tuple[str, ...] = (
    "full_negation", "elliptic_negation", "contrast", "emoji", "emoji_alone", "emoji_words", "emoji_irony", "idiom",
    *VIEW_GATES, "negation_ignored", "negated_fact", "answered", "praise_frame", "irony", "ironic",
)  # fmt: skip
# The view each gate reads (a view's own gate, and the gates that compare the text's reading with a view's; their
# terms are the whole text's).
GATE_VIEWS: dict[str, str] = {
    **{view: view for view in VIEW_GATES}, "negation_ignored": "affirmed", "negated_fact": "affirmed",
    "praise_frame": "focus",
}  # fmt: skip
IRONY_GATES: tuple[str, ...] = ("irony", "ironic")  # read the network's irony head
# Gates where a negation (or a cue that looks like one, or a yes/no answer) decides; they open on few ordinary texts,
# and the stacker's second stage penalises them less (``stacker_choice.STACKER_NEGATION_EVIDENCE_ALPHA``).
NEGATION_GATES: tuple[str, ...] = (
    "full_negation", "elliptic_negation", "affirmed", "idiom", "negation_ignored", "negated_fact", "answered",
)  # fmt: skip
# Gates still computed for the calibrations that list them, but not fitted anew: ``emoji`` opened for every polar
# emoji, and its vote, fitted on ironic emoji, overrode the praise next to a crying face (Reddit emoji texts:
# hybrid macro-F1 0.43 vs the network's 0.56).
# ``irony`` was open on every row (P(ironic) is never 0), so its columns moved ordinary text too; ``ironic`` opens
# only where the head says ironic.
LEGACY_GATES: tuple[str, ...] = ("emoji", "irony")
_LABELS = ("negative", "neutral", "positive")
NETWORK_TERMS: tuple[str, ...] = tuple(f"network_{label}" for label in _LABELS)
TERMS: tuple[str, ...] = ("lexicon_negative", "lexicon_positive", *NETWORK_TERMS)


def gate_terms(gate: str) -> tuple[str, ...]:
    """The terms a gate multiplies: a view's network logits for a view's gate (with the whole text's logits too,
    TweetEval's ECE rose from 0.027 to 0.031 at no behavioural gain), the lexicon's vote and the network's
    logits else."""
    return tuple(f"{gate}_{label}" for label in _LABELS) if gate in VIEW_GATES else TERMS


EVIDENCE_FEATURES: tuple[str, ...] = tuple(f"{gate}*{term}" for gate in GATES for term in gate_terms(gate))
LEXICON_GATES = tuple(g for g in GATES if g not in IRONY_GATES)  # the gates a model without the irony head can use
# Lexicon features only the gates read: a new calibration does not fit them as columns of the first stage (they
# matter where their gate is open, and there the gate's own columns carry them).
GATE_ONLY_FEATURES: tuple[str, ...] = ("irony_emoji", "plain_idiom", "answered_question", "praise_frame")


def evidence_names(has_irony: bool) -> tuple[str, ...]:
    """The evidence columns a new calibration fits for a network with (or without) the irony head."""
    gates = set(GATES if has_irony else LEXICON_GATES) - set(LEGACY_GATES)
    return tuple(name for name in EVIDENCE_FEATURES if name.split("*", 1)[0] in gates)


ASSERTING_VIEWS: tuple[str, ...] = ("focus",)  # views that say what the text says (``affirmed`` says the opposite)


def view_blocks(names: Sequence[str]) -> list[list[int]]:
    """Per asserting view whose three columns are all in ``names``: their indices (negative, neutral, positive). The
    stacker gives each such block one free scale (how far the network's reading of the view counts) instead of a
    ridge-penalised 3 x 3 matrix. A denying view (``affirmed``: "not X" for "X") keeps the matrix: a negated
    positive is negative, but a negated negative is neutral or positive and a negated fact stays a fact, which no
    one scale can say (a shared negative scale called 23 % of negated facts in the suite's check half polar)."""
    index = {name: j for j, name in enumerate(names)}
    blocks = []
    for gate in ASSERTING_VIEWS:
        columns = [f"{gate}*{term}" for term in gate_terms(gate)]
        if all(c in index for c in columns):
            blocks.append([index[c] for c in columns])
    return blocks


def gate_values(
    lexicon: Mapping[str, np.ndarray],
    irony_logit: np.ndarray | None,
    views: Mapping[str, np.ndarray] | None = None,
    sentiment_logits: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each gate per row, from the lexicon feature columns (by name), the irony logit (None: no head), the views'
    sentiment logits (``affectlens.views``; NaN rows: the text has no such view; a view not given: its gate stays
    shut) and the network's sentiment logits on the text (None: ``negation_ignored`` stays shut)."""
    n = len(lexicon["elliptic_negations"])
    views = views or {}
    gates = {
        "full_negation": (lexicon["negated_sentiment_tokens"] >= 1) & (lexicon["negated_polar_share"] >= 0.999),
        "elliptic_negation": lexicon["elliptic_negations"] >= 1,
        "contrast": lexicon["post_contrast_valence"] != 0,
        "emoji": (lexicon["emoji_count"] >= 1) & (lexicon["emoji_valence"] != 0),
    }
    polar_words = np.abs(lexicon["word_compound"]) >= VADER_THRESHOLD
    irony_marker = lexicon["irony_emoji"] >= 1
    gates["emoji_alone"] = gates["emoji"] & ~polar_words
    gates["emoji_words"] = gates["emoji"] & polar_words & ~irony_marker
    gates["emoji_irony"] = irony_marker & polar_words
    gates["idiom"] = lexicon["plain_idiom"] >= 1
    for view in VIEW_GATES:
        gates[view] = ~np.isnan(views[view]).any(axis=1) if view in views else np.zeros(n, dtype=bool)
    gates["focus"] &= ~gates["elliptic_negation"]  # "..., but it wasn't": the clause alone means nothing
    gates["answered"] = lexicon["answered_question"] >= 1
    # A frame of praise around a situation the network reads as negative is sarcasm's shape; around any other
    # situation it is sincere ("Cubs win! Walk-off home run in the 10th"), and there the frame changes nothing: its
    # situation is no focus either.
    frame = lexicon["praise_frame"] >= 1
    situation_negative = np.zeros(n, dtype=bool)
    if "focus" in views:
        focus = np.asarray(views["focus"], dtype=float)
        read = np.argmax(np.nan_to_num(focus), axis=1)
        situation_negative = ~np.isnan(focus).any(axis=1) & (read == _LABELS.index("negative"))
    gates["praise_frame"] = frame & situation_negative
    gates["focus"] &= ~frame | situation_negative
    gates["negation_ignored"] = np.zeros(n, dtype=bool)
    gates["negated_fact"] = np.zeros(n, dtype=bool)
    if sentiment_logits is not None and "affirmed" in views:
        said = np.argmax(np.asarray(sentiment_logits, dtype=float), axis=1)
        affirmed = np.argmax(np.nan_to_num(np.asarray(views["affirmed"], dtype=float), nan=0.0), axis=1)
        polar = np.array([-1.0, 0.0, 1.0])[said]  # the sign of the label (_LABELS order)
        lexicon_vote = _vote(lexicon, "negation_ignored")
        gates["negation_ignored"] = gates["affirmed"] & (said == affirmed) & (polar != 0) & (lexicon_vote != polar)
        neutral_affirmed = affirmed == _LABELS.index("neutral")
        gates["negated_fact"] = gates["affirmed"] & neutral_affirmed & (polar != 0) & (lexicon_vote == 0)
    out = {name: value.astype(float) for name, value in gates.items()}
    if irony_logit is not None:
        out["irony"] = 1.0 / (1.0 + np.exp(-np.clip(np.asarray(irony_logit, dtype=float), -50, 50)))
        out["ironic"] = np.where(out["irony"] >= 0.5, out["irony"], 0.0)
    return out


def evidence_columns(
    lexicon: Mapping[str, np.ndarray],
    sentiment_logits: np.ndarray,
    irony_logit: np.ndarray | None,
    names: tuple[str, ...] | list[str],
    views: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The requested evidence columns (``names`` may hold other names: they are skipped). ``views``: per view the
    network's sentiment logits on each row's view, NaN rows where there is none (``affectlens.views``)."""
    wanted = [n for n in names if n in EVIDENCE_FEATURES]
    if not wanted:
        return {}
    views = views or {}
    asked = {n.split("*", 1)[0] for n in wanted}
    read = {GATE_VIEWS[gate] for gate in asked if gate in GATE_VIEWS}
    missing = sorted(read - set(views))
    if missing:
        raise ValueError(f"the {', '.join(missing)} evidence columns need that view's logits (affectlens.views)")
    gates = gate_values(lexicon, irony_logit, views, sentiment_logits)
    z = np.asarray(sentiment_logits, dtype=float)
    z = z - z.mean(axis=1, keepdims=True)
    network = dict(zip(NETWORK_TERMS, z.T, strict=True))
    for view, logits in views.items():
        v = np.nan_to_num(np.asarray(logits, dtype=float))
        network.update(zip(gate_terms(view), (v - v.mean(axis=1, keepdims=True)).T, strict=True))
    out = {}
    for name in wanted:
        gate, term = name.split("*", 1)
        if gate not in gates:
            raise ValueError(f"evidence feature {name!r} needs the irony head, which this network does not have")
        if term in network:
            out[name] = gates[gate] * network[term]
        else:
            vote = _vote(lexicon, gate)
            out[name] = gates[gate] * (vote < 0 if term == "lexicon_negative" else vote > 0)
    return out


def _vote(lexicon: Mapping[str, np.ndarray], gate: str) -> np.ndarray:
    """The lexicon's signed vote where ``gate`` is open: -1, 0 or +1 per row."""
    if gate == "contrast":
        return np.sign(np.asarray(lexicon["post_contrast_valence"], dtype=float))
    if gate in ("emoji", "emoji_alone", "emoji_words"):
        return np.sign(np.asarray(lexicon["emoji_valence"], dtype=float))
    if gate == "emoji_irony":
        return np.sign(np.asarray(lexicon["word_compound"], dtype=float))
    compound = np.asarray(lexicon["vader_compound"], dtype=float)
    return np.where(compound >= VADER_THRESHOLD, 1.0, np.where(compound <= -VADER_THRESHOLD, -1.0, 0.0))
