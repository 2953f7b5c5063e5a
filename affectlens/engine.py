"""The one scoring path: ``Engine.score_batch(texts)``; ``score(text)`` is a batch of one.

Flow: normalize -> lexicon analysis (VADER with negation scope, NRC, emoji) -> ONNX encoder (all heads; on
the texts and, for the hybrid, their views: the clause that decides, the affirmed text: ``affectlens.views``)
-> calibration (stacker for sentiment, per-label calibration + thresholds for emotions) -> Prediction.
The TorchServe handler, the CLI, batch jobs and the evaluator all call this, so evaluation numbers come
from the code that serves requests. Bad items become ``ScoreError`` in place; the rest are answered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from affectlens import __version__
from affectlens.ensemble import Calibration, sigmoid, softmax, stacker_features
from affectlens.errors import ConfigError
from affectlens.labels import (
    EMOTION_LABELS,
    EMOTION_SLICE,
    IRONY_INDEX,
    NUM_SENTIMENT,
    SENTIMENT_LABELS,
    SENTIMENT_SLICE,
    VADER_THRESHOLD,
)
from affectlens.lexicons import LexiconAnalysis, LexiconConfig, LexiconPipeline
from affectlens.neural import NeuralConfig, NeuralModel
from affectlens.normalize import DEFAULT_MAX_CHARS, InputProblem, NormalizedText, normalize_text
from affectlens.schema import ModelInfo, Prediction, Result, ScoreError, TokenEvidence
from affectlens.views import needed_views, split_views, with_views

log = logging.getLogger("affectlens.engine")

MODES = ("hybrid", "neural", "lexicon")
# GoEmotions labels that the NRC lexicon names too (lexicon-only emotions).
NRC_TO_GOEMOTIONS = {e: e for e in ("anger", "disgust", "fear", "joy", "sadness", "surprise")}
# Keys of ``score_batch(..., timings=...)``; the TorchServe handler's stage metric uses the same names.
TIMING_STAGES = ("tokenize", "lexicon", "neural", "ensemble")


def default_model_dir() -> Path:
    """The default model shipped inside the package (``affectlens/default_model``)."""
    return Path(__file__).resolve().parent / "default_model"


@dataclass(frozen=True)
class EngineConfig:
    """What to run. ``mode``: hybrid (default), neural (calibrated neural only) or lexicon (no model)."""

    mode: str = "hybrid"
    model_dir: str | None = None
    lexicon: LexiconConfig = field(default_factory=LexiconConfig)
    neural: NeuralConfig = field(default_factory=NeuralConfig)
    max_chars: int = DEFAULT_MAX_CHARS
    explain_max_tokens: int = 64  # occlusion attribution for at most this many tokens per text

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.max_chars < 16:
            raise ConfigError("max_chars must be at least 16")


def lexicon_sentiment_scores(compound: np.ndarray) -> np.ndarray:
    """Map VADER compound scores to (negative, neutral, positive) scores that sum to 1.

    The mapping is piecewise linear and agrees with VADER's ±0.05 convention: the polar mass
    ``m`` is |c|/0.05 * 0.5 inside the neutral band and 0.5 + 0.5 * (|c| - 0.05) / 0.95 outside it; ``m``
    goes to the side of the sign, ``1 - m`` to neutral. These are not calibrated probabilities.
    """
    c = np.clip(np.asarray(compound, dtype=np.float64), -1.0, 1.0)
    a = np.abs(c)
    polar = np.where(a < VADER_THRESHOLD, 0.5 * a / VADER_THRESHOLD, 0.5 + 0.5 * (a - VADER_THRESHOLD) / 0.95)
    polar = np.where(a < VADER_THRESHOLD, np.minimum(polar, 0.4999), polar)
    out = np.zeros((len(c), NUM_SENTIMENT))
    out[:, 0] = np.where(c < 0, polar, 0.0)
    out[:, 2] = np.where(c > 0, polar, 0.0)
    out[:, 1] = 1.0 - polar
    return out


@dataclass
class _Scored:
    """Probabilities and evidence for a list of valid texts (internal)."""

    sentiment: np.ndarray  # (n, 3)
    emotions: np.ndarray  # (n, 28)
    lexicon: list[LexiconAnalysis] | None
    neural_logits: np.ndarray | None
    irony: np.ndarray | None = None  # (n,) P(ironic), with the irony head only
    embeddings: np.ndarray | None = None  # (n, hidden) sentence embeddings, when asked for


class Engine:
    """Scores batches of texts. Build once (loading is the expensive part), call many times."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.mode = self.config.mode
        self.model_dir = Path(self.config.model_dir) if self.config.model_dir else default_model_dir()
        self.lexicon = LexiconPipeline(self.config.lexicon)
        self.neural: NeuralModel | None = None
        self.calibration: Calibration | None = None
        if self.mode != "lexicon":
            self.neural = NeuralModel(self.model_dir, self.config.neural)
            self.calibration = Calibration.load_optional(self.model_dir)
            if self.calibration is None:
                log.warning("no calibration.json in %s: using raw neural probabilities", self.model_dir)
            else:
                self.calibration.check_heads(self.neural.has_irony, self.model_dir)

    @cached_property
    def model_info(self) -> ModelInfo:
        if self.neural is None:
            return ModelInfo("affectlens-lexicon", __version__)
        return ModelInfo(self.neural.card.name, self.neural.card.version)

    # -- public API -------------------------------------------------------------------------------
    def score(self, text: object, *, explain: bool = False, id: str | None = None) -> Result:
        return self.score_batch([text], ids=None if id is None else [id], explain=explain)[0]

    def score_batch(
        self,
        texts: Sequence[object],
        *,
        ids: Sequence[str | None] | None = None,
        explain: bool = False,
        timings: dict[str, float] | None = None,
        parsed_docs: Sequence[Any | None] | None = None,
        embeddings: list[np.ndarray | None] | None = None,
    ) -> list[Result]:
        """Score every item; bad items become ``ScoreError`` at their position.

        ``parsed_docs``: per item, a spaCy Doc/Span that already holds a dependency parse of that text, or None;
        the lexicon reads negation scope from it instead of parsing again (the spaCy component passes these).
        Occlusion variants (``explain``) are other texts: the lexicon parses those itself.

        ``timings``: if given, this call's milliseconds per stage are added to it: ``tokenize`` and ``neural``
        (ONNX Runtime; with a model only), ``lexicon``, and ``ensemble`` = the rest (normalization, calibration,
        predictions), so they sum to the call's wall time. With ``explain`` the occlusion passes are included
        (their tokenizer, lexicon and ONNX time in those stages). A call that raises adds nothing.

        ``embeddings``: if given (a list), one entry per item is appended: the text's sentence embedding from the
        same network pass (``NeuralModel.forward``), or None for an item that failed; needs a model (not
        ``lexicon-only``) whose graph has the embedding output.
        """
        if embeddings is not None and self.neural is None:
            raise ConfigError("embeddings need the network: the lexicon-only mode has none")
        if ids is not None and len(ids) != len(texts):
            raise ConfigError(f"got {len(texts)} texts but {len(ids)} ids")
        if parsed_docs is not None and len(parsed_docs) != len(texts):
            raise ConfigError(f"got {len(texts)} texts but {len(parsed_docs)} parsed_docs")
        start = time.perf_counter()
        spent = None if timings is None else dict.fromkeys(self._timed_stages(), 0.0)
        ids = list(ids) if ids is not None else [None] * len(texts)
        normalized = [normalize_text(t, self.config.max_chars) for t in texts]
        valid = [i for i, n in enumerate(normalized) if isinstance(n, NormalizedText)]
        results: list[Result | None] = [None] * len(texts)
        for i, n in enumerate(normalized):
            if isinstance(n, InputProblem):
                results[i] = ScoreError(n.code, n.message, ids[i])
        if valid:
            clean = [normalized[i] for i in valid]
            texts_ok = [n.text for n in clean if isinstance(n, NormalizedText)]
            parsed = None if parsed_docs is None else [parsed_docs[i] for i in valid]
            scored = self._score_texts(
                texts_ok, with_lexicon=explain, timings=spent, parsed=parsed, embeddings=embeddings is not None
            )
            attributions = self._attributions(texts_ok, scored, spent) if explain else None
            thresholds = self._emotion_thresholds()
            for k, i in enumerate(valid):
                norm = normalized[i]
                assert isinstance(norm, NormalizedText)
                results[i] = self._prediction(k, scored, thresholds, ids[i], norm.warnings, attributions)
        out = [r for r in results if r is not None]
        if embeddings is not None:
            rows: list[np.ndarray | None] = [None] * len(texts)
            if valid and scored.embeddings is not None:
                for k, i in enumerate(valid):
                    rows[i] = scored.embeddings[k]
            embeddings.extend(rows)
        if timings is not None and spent is not None:
            spent["ensemble"] = max(0.0, (time.perf_counter() - start) * 1000.0 - sum(spent.values()))
            for stage, ms in spent.items():
                timings[stage] = timings.get(stage, 0.0) + ms
        return out

    # -- internals --------------------------------------------------------------------------------
    def _timed_stages(self) -> tuple[str, ...]:
        return TIMING_STAGES if self.neural is not None else ("lexicon",)

    def _score_texts(
        self,
        texts: Sequence[str],
        with_lexicon: bool = False,
        timings: dict[str, float] | None = None,
        parsed: Sequence[Any | None] | None = None,
        embeddings: bool = False,
    ) -> _Scored:
        need_lexicon = self.mode != "neural" or with_lexicon
        lexicon = None
        if need_lexicon:
            start = time.perf_counter()
            lexicon = self.lexicon.analyze_batch(texts, parsed)
            if timings is not None:
                timings["lexicon"] = timings.get("lexicon", 0.0) + (time.perf_counter() - start) * 1000.0
        if self.neural is None:
            assert lexicon is not None
            compound = np.array([a.vader["compound"] for a in lexicon])
            return _Scored(lexicon_sentiment_scores(compound), self._lexicon_emotions(lexicon), lexicon, None)
        view_rows: dict[str, list[int]] = {}
        batch = list(texts)
        if self.mode == "hybrid" and self.calibration is not None:
            assert lexicon is not None
            names, plain = self.calibration.feature_names, self.calibration.plain_input
            batch, view_rows = with_views(texts, lexicon, needed_views(names), plain)
        logits, vectors = self.neural.forward(batch, timings=timings, with_embeddings=embeddings)
        logits, views = split_views(logits, len(texts), view_rows)
        vectors = None if vectors is None else vectors[: len(texts)]
        sent_logits, emo_logits = logits[:, SENTIMENT_SLICE], logits[:, EMOTION_SLICE]
        irony_logits = logits[:, IRONY_INDEX] if self.neural.has_irony else None
        if self.calibration is None:
            irony = None if irony_logits is None else sigmoid(irony_logits)
            return _Scored(softmax(sent_logits), sigmoid(emo_logits), lexicon, logits, irony, vectors)
        if self.mode == "hybrid":
            assert lexicon is not None
            features = stacker_features(logits, lexicon, self.calibration.feature_names, views)
            sentiment = self.calibration.sentiment_proba(sent_logits, features)
        else:
            sentiment = self.calibration.neural_sentiment_proba(sent_logits)
        irony = None if irony_logits is None else self.calibration.irony_proba(irony_logits)
        return _Scored(sentiment, self.calibration.emotion_proba(emo_logits), lexicon, logits, irony, vectors)

    @staticmethod
    def _lexicon_emotions(lexicon: Sequence[LexiconAnalysis]) -> np.ndarray:
        out = np.zeros((len(lexicon), len(EMOTION_LABELS)))
        index = {e: k for k, e in enumerate(EMOTION_LABELS)}
        for row, analysis in enumerate(lexicon):
            for nrc_name, goemotion in NRC_TO_GOEMOTIONS.items():
                out[row, index[goemotion]] = min(1.0, analysis.nrc.get(nrc_name, 0.0))
            out[row, index["neutral"]] = 1.0 if out[row].max() == 0 else 0.0
        return out

    def _emotion_thresholds(self) -> np.ndarray:
        if self.calibration is not None:
            return np.asarray(self.calibration.emotion_thresholds, dtype=float)
        return np.full(len(EMOTION_LABELS), 0.5 if self.neural is not None else 1e-9)

    def _attributions(
        self, texts: Sequence[str], scored: _Scored, timings: dict[str, float] | None = None
    ) -> list[list[float | None]]:
        """Occlusion through the whole pipeline: p(label | text) - p(label | text without the token)."""
        variants: list[str] = []
        owners: list[tuple[int, int]] = []
        assert scored.lexicon is not None, "explanations need the lexicon analysis"
        spans = [[(t.start, t.end) for t in a.tokens] for a in scored.lexicon]
        for i, text in enumerate(texts):
            for j, (start, end) in enumerate(spans[i][: self.config.explain_max_tokens]):
                variant = (text[:start] + " " + text[end:]).strip()
                if variant:
                    variants.append(variant)
                    owners.append((i, j))
        out: list[list[float | None]] = [[None] * len(s) for s in spans]
        if not variants:
            return out
        occluded = self._score_texts(variants, timings=timings)
        labels = scored.sentiment.argmax(axis=1)
        for (i, j), row in zip(owners, occluded.sentiment, strict=True):
            out[i][j] = float(scored.sentiment[i, labels[i]] - row[labels[i]])
        return out

    def _prediction(
        self,
        k: int,
        scored: _Scored,
        thresholds: np.ndarray,
        id_: str | None,
        warnings: tuple[str, ...],
        attributions: list[list[float | None]] | None,
    ) -> Prediction:
        probs = scored.sentiment[k]
        label = SENTIMENT_LABELS[int(np.argmax(probs))]
        emotions = scored.emotions[k]
        predicted = tuple(EMOTION_LABELS[j] for j in np.argsort(-emotions) if emotions[j] >= thresholds[j])
        components: dict[str, Any] = {"neural": None, "lexicon": None}
        if scored.neural_logits is not None:
            raw = softmax(scored.neural_logits[k : k + 1, SENTIMENT_SLICE])[0]
            components["neural"] = {
                "label": SENTIMENT_LABELS[int(np.argmax(raw))],
                "scores": dict(zip(SENTIMENT_LABELS, map(float, raw), strict=True)),
            }
        analysis = scored.lexicon[k] if scored.lexicon is not None else None
        if analysis is not None and self.mode != "neural":
            compound = analysis.vader["compound"]
            components["lexicon"] = {
                "label": "positive"
                if compound >= VADER_THRESHOLD
                else "negative"
                if compound <= -VADER_THRESHOLD
                else "neutral",
                "valence": compound,
                "vader": dict(analysis.vader),
                "nrc": {name: rate for name, rate in analysis.nrc.items() if rate > 0},
                "emoji": dict(analysis.emoji),
                "negation": dict(analysis.negation),
            }
        tokens = None
        if attributions is not None and analysis is not None:
            tokens = tuple(
                TokenEvidence(
                    text=t.text,
                    start=t.start,
                    end=t.end,
                    valence=t.valence,
                    negated=t.negated,
                    negation_cue=t.negation_cue,
                    emotions=t.emotions,
                    emoji=t.emoji,
                    emoji_valence=t.emoji_valence,
                    attribution=attributions[k][j],
                )
                for j, t in enumerate(analysis.tokens)
            )
        valence = float(np.clip(probs[2] - probs[0], -1.0, 1.0))
        if self.neural is None and analysis is not None:
            valence = float(analysis.vader["compound"])
        return Prediction(
            label=label,
            scores=dict(zip(SENTIMENT_LABELS, map(float, probs), strict=True)),
            valence=valence,
            emotions=dict(zip(EMOTION_LABELS, map(float, emotions), strict=True)),
            emotions_predicted=predicted,
            components=components,
            model=self.model_info,
            id=id_,
            tokens=tokens,
            warnings=warnings,
            irony=None if scored.irony is None else float(scored.irony[k]),
        )
