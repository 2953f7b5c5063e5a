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
=========================== ===============================================================
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .nrc import NRC_CATEGORIES

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FEATURE_NAMES", "FEATURE_VERSION", "build_features"]

FEATURE_VERSION = "1"

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
    ]
    return np.asarray(values, dtype=np.float32)
