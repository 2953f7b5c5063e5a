"""affectlens: hybrid lexicon-plus-neural sentiment and emotion inference.

    >>> import affectlens
    >>> analyzer = affectlens.load()                 # hybrid, the shipped model
    >>> analyzer("I love it").label
    'positive'
    >>> [r.label for r in analyzer.pipe(["awful", "great"])]
    ['negative', 'positive']

Importing this package is cheap and changes nothing global: ``load``, ``Analyzer`` and ``score_frame`` import
the engine when first used; heavy dependencies are imported inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from affectlens.errors import (
    AffectlensError,
    ConfigError,
    InvalidInputError,
    MissingDependencyError,
    ModelNotFoundError,
)

if TYPE_CHECKING:
    from affectlens.api import Analyzer, load, score_frame
    from affectlens.schema import Prediction, ScoreError, TokenEvidence

__version__ = "0.1.0"

__all__ = [
    "AffectlensError",
    "Analyzer",
    "ConfigError",
    "InvalidInputError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "Prediction",
    "ScoreError",
    "TokenEvidence",
    "__version__",
    "load",
    "score_frame",
]

_LAZY = {
    "Analyzer": "affectlens.api",
    "load": "affectlens.api",
    "score_frame": "affectlens.api",
    "Prediction": "affectlens.schema",
    "ScoreError": "affectlens.schema",
    "TokenEvidence": "affectlens.schema",
}


def __getattr__(name: str) -> Any:
    """``affectlens.load`` and friends, imported on first use (keeps ``import affectlens`` cheap)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'affectlens' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
