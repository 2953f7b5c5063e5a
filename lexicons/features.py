"""The fixed, named, versioned lexicon feature vector consumed by the ensemble.

Bump ``FEATURE_VERSION`` whenever a name, its order or its meaning changes (a fitted stacker
records the version it was trained with). All values are float32.

=========================== ===============================================================
name                        meaning
=========================== ===============================================================
vader_neg                   VADER "neg" proportion, after our negation scope (0..1)
vader_neu                   VADER "neu" proportion (0..1)
vader_pos                   VADER "pos" proportion (0..1)
vader_compound              VADER compound = normalize(valence_total) (-1..1)
nrc_anger ... nrc_negative  NRC rate per category: matched word tokens / word tokens (0..1),
                            in the order anger, anticipation, disgust, fear, joy, sadness,
                            surprise, trust, positive, negative; 0 when NRC is off
emoji_count                 number of emoji tokens
emoji_valence               mean emoji valence over emoji tokens (-4..4; 0 without emoji)
negation_cues               number of active negation cues (idioms such as "no doubt" excluded)
negated_sentiment_tokens    tokens inside a negation scope that carry VADER valence
negated_valence             sum of the (final) valences of those tokens
log_length                  log(1 + number of word tokens)
elliptic_negations          number of elliptic negations ("..., but it wasn't")               (version 2)
negated_polar_share         negated polar tokens / polar tokens (0 without polar tokens)      (version 2)
post_contrast_valence       sum of the valences after the text's turn (``contrast.py``; 0 without) (version 2)
word_compound               VADER compound of the words alone, emoji left out (-1..1)          (version 7)
irony_emoji                 number of emoji that mark irony (``emoji.IRONY_EMOJI``: 🙄 😒 👎 ...)  (version 8)
plain_idiom                 1 if a non-negating idiom was put in plain words (``rephrase.py``)  (version 8)
answered_question           1 if the text ends in a yes/no question and its answer (``rephrase.py``) (version 9)
praise_frame                1 if a frame of praise opens a sentence about a situation without praise (``sarcasm.py``)
                            (version 10)
=========================== ===============================================================

Version 2 appended three names and changed the negation rules behind the first twenty (their values move on
negated text), so a version-1 calibration is refused; calibrations read their columns by name. Version 3 kept
the names and changed two rules (an answer "No." negates the question before it and counts as an elliptic
negation; a comma-delimited insert after a cue no longer stops its scope), so a version-2 calibration is refused.
Version 4 kept the names and changed rules again: turns other than "but" weigh like it (a concessive opening
clause, "yet"/"however"/"whereas", "used to ... now ..."), "not" on a numeral or quantifier negates its noun
phrase ("Not one guest ..."), "no question"/"no denying" do not negate, "..., which it was not" and answers
such as "Definitely not." are elliptic negations; a version-3 calibration is refused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .nrc import NRC_CATEGORIES

if TYPE_CHECKING:
    import numpy as np

__all__ = ["COMPATIBLE_VERSIONS", "FEATURE_NAMES", "FEATURE_VERSION", "build_features"]

FEATURE_VERSION = "10"
# Calibrations fitted on these versions are accepted (their columns are read by name). Version 2 changed the
# negation rules (scope across complement clauses, elliptic negation, "far from", ...), so the values of the
# version-1 features moved too: a version-1 calibration must be refitted.
# Version 5 keeps the names and their meaning and changes a few valences (derived "un" + positive words, inserts
# after a negation cue and answer words without valence): a version-4 calibration reads the same columns.
# Version 6 keeps the names and their meaning: a protected-attribute phrase counts as one word ("visually
# impaired" as "deaf"), "according to X, ..." is a reported view, "no question of" negates; its calibrations also
# record that the hybrid's network reads texts in their plain form (``affectlens.views``).
# Version 7 appends ``word_compound`` (what the words say without the emoji: an emoji decides a text whose words are
# neutral, not one whose words are polar) and reads "warm-hearted" as VADER's "warmhearted": older calibrations read
# the columns they list.
# Version 8 appends ``irony_emoji`` and ``plain_idiom`` (the evidence gates ``emoji_irony``, ``emoji_words`` and
# ``idiom``) and gives an answer of leads only ("Was it rude? Definitely.") no valence; older calibrations read the
# columns they list.
# Version 9 appends ``answered_question`` (the evidence gate ``answered``); answers such as "In a heartbeat." or
# "No doubt." say yes and an endorsement question's claim says so ("Gladly, we go back"), which moves the views,
# not the lexicon columns: older calibrations read the columns they list.
# Version 10 appends ``praise_frame`` (the evidence gate ``praise_frame``; the situation is the focus view).
COMPATIBLE_VERSIONS = ("4", "5", "6", "7", "8", "9", "10")

FEATURE_NAMES: tuple[str, ...] = (
    "vader_neg",
    "vader_neu",
    "vader_pos",
    "vader_compound",
    *(f"nrc_{c}" for c in NRC_CATEGORIES),
    "emoji_count",
    "emoji_valence",
    "negation_cues",
    "negated_sentiment_tokens",
    "negated_valence",
    "log_length",
    "elliptic_negations",
    "negated_polar_share",
    "post_contrast_valence",
    "word_compound",
    "irony_emoji",
    "plain_idiom",
    "answered_question",
    "praise_frame",
)


def build_features(
    vader: dict[str, float],
    nrc: dict[str, float],
    emoji_count: int,
    emoji_valence: float,
    negation_cues: int,
    negated_sentiment_tokens: int,
    negated_valence: float,
    n_words: int,
    elliptic_negations: int = 0,
    negated_polar_share: float = 0.0,
    post_contrast_valence: float = 0.0,
    word_compound: float = 0.0,
    irony_emoji: int = 0,
    plain_idiom: bool = False,
    answered_question: bool = False,
    praise_frame: bool = False,
) -> np.ndarray:
    """The feature vector in ``FEATURE_NAMES`` order."""
    import numpy as np

    values = [
        vader["neg"],
        vader["neu"],
        vader["pos"],
        vader["compound"],
        *(nrc.get(c, 0.0) for c in NRC_CATEGORIES),
        float(emoji_count),
        emoji_valence,
        float(negation_cues),
        float(negated_sentiment_tokens),
        negated_valence,
        math.log1p(n_words),
        float(elliptic_negations),
        negated_polar_share,
        post_contrast_valence,
        word_compound,
        float(irony_emoji),
        float(plain_idiom),
        float(answered_question),
        float(praise_frame),
    ]
    return np.asarray(values, dtype=np.float32)
