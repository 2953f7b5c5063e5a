"""The JSON contract: Prediction, TokenEvidence, ScoreError (frozen dataclasses) and their ``to_dict()``.

``schema/prediction.schema.json`` (package data) is the JSON Schema of ``Prediction.to_dict()`` and of
``ScoreError.to_dict()``; tests validate real outputs against it. Names may grow; none may change meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from affectlens.errors import error_payload


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}


@dataclass(frozen=True)
class TokenEvidence:
    """What one token contributed, in character offsets of the (normalized) input text.

    ``valence`` is the token's VADER valence after the rules (boosters, caps, negation scope, "but");
    ``attribution`` is the token's effect on the final prediction (occlusion: the drop in the predicted
    label's probability when the token is removed; positive = the token supports the label).
    """

    text: str
    start: int
    end: int
    valence: float = 0.0
    negated: bool = False
    negation_cue: str | None = None
    emotions: tuple[str, ...] = ()
    emoji: str | None = None
    emoji_valence: float | None = None
    attribution: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "valence": round(self.valence, 6),
            "negated": self.negated,
            "negation_cue": self.negation_cue,
            "emotions": list(self.emotions),
            "emoji": self.emoji,
            "emoji_valence": None if self.emoji_valence is None else round(self.emoji_valence, 6),
            "attribution": None if self.attribution is None else round(self.attribution, 6),
        }


@dataclass(frozen=True)
class Prediction:
    """One scored text. ``scores`` and ``emotions`` are probabilities; ``scores`` sums to 1."""

    label: str
    scores: dict[str, float]
    valence: float
    emotions: dict[str, float]
    emotions_predicted: tuple[str, ...]
    components: dict[str, Any]
    model: ModelInfo
    id: str | None = None
    tokens: tuple[TokenEvidence, ...] | None = None
    warnings: tuple[str, ...] = field(default=())
    irony: float | None = None  # P(ironic) when the model has the irony head; absent from the JSON otherwise

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out.update(
            {
                "label": self.label,
                "scores": {k: round(v, 6) for k, v in self.scores.items()},
                "valence": round(self.valence, 6),
                "emotions": {k: round(v, 6) for k, v in self.emotions.items()},
                "emotions_predicted": list(self.emotions_predicted),
                **({} if self.irony is None else {"irony": round(self.irony, 6)}),
                "components": self.components,
                "model": self.model.to_dict(),
            }
        )
        if self.tokens is not None:
            out["tokens"] = [t.to_dict() for t in self.tokens]
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class ScoreError:
    """An item of a batch that could not be scored; the other items are still answered."""

    code: str
    message: str
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return error_payload(self.code, self.message, self.id)


Result = Prediction | ScoreError


@cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one output line: a prediction or an error."""
    text = resources.files("affectlens").joinpath("schema/prediction.schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))
