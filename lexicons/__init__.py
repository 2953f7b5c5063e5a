"""Lexicon analyzers (installed as ``affectlens.lexicons``): VADER, NRC, emoji, negation scope.

Example::

    from affectlens.lexicons import LexiconPipeline
    a = LexiconPipeline().analyze("I don't think it's good 👎🏽")
    a.vader["compound"], [(t.text, t.valence, t.negation_cue) for t in a.tokens if t.negated]

Importing is cheap: lexicon files, ``emoji`` data and the spaCy model load on first use.
This package never imports ``affectlens`` (dependency direction: lexicons <- core).
"""

from .base import (
    LexiconConfigError,
    LexiconDataError,
    LexiconError,
    LexiconInputError,
    TokenAnnotator,
)
from .features import FEATURE_NAMES, FEATURE_VERSION
from .pipeline import LexiconAnalysis, LexiconConfig, LexiconPipeline, LexToken

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "LexToken",
    "LexiconAnalysis",
    "LexiconConfig",
    "LexiconConfigError",
    "LexiconDataError",
    "LexiconError",
    "LexiconInputError",
    "LexiconPipeline",
    "TokenAnnotator",
]
