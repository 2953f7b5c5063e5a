"""Calibrated ensemble: estimators in scikit-learn style (hyperparameters in ``__init__``, learned
attributes end in ``_``, ``fit`` returns self, ``predict_proba``).

* ``TemperatureScaler``: one temperature for the neural sentiment logits (neural-only mode).
* ``SentimentStacker``: the neural sentiment logits as an offset plus a ridge-penalised correction from
  the lexicon features (and their interactions with neural uncertainty), the gated evidence columns in a second
  stage with a penalty of their own, then temperature scaling.
* ``EmotionCalibrator`` (``affectlens.emotion_calibration``): per-label Platt scaling of the 28 emotion logits and
  per-label thresholds chosen for F1 (labels too rare to fit use one global threshold).
* ``Calibration``: the bundle saved as ``calibration.json`` (small, versioned, human-readable) next to the
  model and loaded by ``Engine``.

Fitting needs scikit-learn and scipy (the ``train`` extra); prediction is numpy only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.emotion_calibration import EmotionCalibrator, best_f1_threshold, sigmoid
from affectlens.errors import ConfigError, MissingDependencyError
from affectlens.labels import IRONY_INDEX

__all__ = [
    "CALIBRATION_FILE", "IRONY_FEATURE", "Calibration", "EmotionCalibrator", "SentimentStacker", "TemperatureScaler",
    "best_f1_threshold", "fit_temperature", "sigmoid", "softmax", "stacker_features", "stacker_inputs",
]  # fmt: skip

CALIBRATION_FILE = "calibration.json"
CALIBRATION_FORMAT = 2


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = softmax(logits / temperature)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0)).mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood (bounded scalar search)."""
    try:
        from scipy.optimize import minimize_scalar
    except ImportError as exc:
        raise MissingDependencyError.for_extra("scipy", "train") from exc
    result = minimize_scalar(lambda t: _nll(logits, y, t), bounds=(0.05, 20.0), method="bounded")
    return float(result.x)


class TemperatureScaler:
    """Softmax(logits / T) with T fitted by NLL (Guo et al., 2017)."""

    def fit(self, logits: np.ndarray, y: np.ndarray) -> TemperatureScaler:
        self.temperature_ = fit_temperature(np.asarray(logits, dtype=float), np.asarray(y, dtype=int))
        return self

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(logits, dtype=float) / self.temperature_)


IRONY_FEATURE = "network_irony"  # appended to the lexicon features for models with the irony head


def stacker_features(
    logits: np.ndarray,
    analyses: Sequence[Any],
    names: Sequence[str],
    views: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The stacker's evidence besides the sentiment logits, as the columns ``names`` (a calibration's
    ``feature_names``): lexicon features by name (a calibration fitted on an older feature version reads the
    columns it knows), for a network with the irony head its irony logit (``IRONY_FEATURE``: irony is where
    the words' polarity and the meaning part ways), and the gated decisive-evidence columns of
    ``affectlens.evidence`` (``views``: the network's sentiment logits on each view of ``affectlens.views``, for
    the views' gates)."""
    from affectlens.evidence import evidence_columns
    from affectlens.lexicons.features import FEATURE_NAMES

    lexicon = np.stack([a.features for a in analyses]).astype(float)
    columns = {name: lexicon[:, j] for j, name in enumerate(FEATURE_NAMES)}
    z = np.asarray(logits, dtype=float)
    irony = z[:, IRONY_INDEX] if z.shape[1] > IRONY_INDEX else None
    if IRONY_FEATURE in names:
        columns[IRONY_FEATURE] = z[:, IRONY_INDEX]
    columns.update(evidence_columns(columns, z[:, :3], irony, list(names), views))
    return np.stack([columns[name] for name in names], axis=1)


def stacker_inputs(neural_logits: np.ndarray | None, lexicon_features: np.ndarray) -> np.ndarray:
    """The stacker's lexicon design matrix: the features, and the features times neural uncertainty.

    The interactions let the stacker trust the lexicon more where the network is unsure (small logit
    margin): the cases (negation, emoji, contrast) where lexicon evidence could be most informative.
    """
    f = np.asarray(lexicon_features, dtype=float)
    if neural_logits is None:
        return f
    uncertainty = 1.0 - softmax(np.asarray(neural_logits, dtype=float)).max(axis=1, keepdims=True)
    return np.concatenate([f, f * uncertainty], axis=1)


def _centred(neural_logits: np.ndarray | None, n: int) -> np.ndarray:
    if neural_logits is None:
        return np.zeros((n, 3))
    z = np.asarray(neural_logits, dtype=float)
    return z - z.mean(axis=1, keepdims=True)


class SentimentStacker:
    """Neural logits as an offset plus a ridge-penalised lexicon correction, then temperature scaling.

    ``score = a * centred_logits + W @ standardised(lexicon inputs) + b``. With the lexicon weights ``W``
    penalised toward zero (``alpha``, on the mean loss), the stacker falls back to a rescaled network where
    the lexicon adds nothing, so it cannot unlearn what the network knows from a small hold-out.
    ``class_weight_power`` interpolates between the data's class prior (0.0) and balanced classes (1.0,
    like the fine-tune, whose argmax targets macro recall). A final temperature, fitted without class
    weights, makes the probabilities mean what they say; it never changes the argmax.

    ``evidence_columns`` (indices into the lexicon features: the gated decisive-evidence columns of
    ``affectlens.evidence``) with ``evidence_alpha`` fit in two stages: the score above on the other columns
    first, then, with that score frozen as an offset, ``E @ scaled(evidence)`` with its own ridge penalty
    ``evidence_alpha`` (no intercept, the columns not centred). The evidence columns are zero unless their gate
    is open, so the second stage moves only the rows where a negation, a turn or an emoji decides, and a weaker
    penalty there cannot move the ordinary rows (fitted jointly, every weight shares one penalty, and following
    the lexicon where it decides costs calibration on ordinary text).

    ``evidence_column_alpha``: a penalty of its own for some evidence columns (feature index -> penalty), e.g. a
    weaker one where a negation decides; the others take ``evidence_alpha``.

    ``input_clip``: the first stage's standardised inputs are clipped to ``±input_clip`` (None: not clipped), so a
    text far outside the hold-out (ten emoji where the hold-out has one or two) gets the largest correction seen in
    the fit, not ten times it.
    """

    def __init__(
        self,
        alpha: float = 0.3,
        class_weight_power: float = 1.0,
        evidence_alpha: float | None = None,
        evidence_columns: Sequence[int] = (),
        view_blocks: Sequence[Sequence[int]] = (),
        input_clip: float | None = None,
        evidence_column_alpha: Mapping[int, float] | None = None,
    ) -> None:
        self.alpha = alpha
        self.evidence_column_alpha = {int(j): float(a) for j, a in (evidence_column_alpha or {}).items()}
        self.input_clip = input_clip
        self.class_weight_power = class_weight_power
        self.evidence_alpha = evidence_alpha
        self.evidence_columns = tuple(int(j) for j in evidence_columns)
        self.view_blocks = tuple(tuple(int(j) for j in block) for block in view_blocks)

    def _weights(self, y: np.ndarray, row_weight: np.ndarray | None) -> np.ndarray:
        counts = np.bincount(y, minlength=3).astype(float)
        per_class = (counts.sum() / (3 * np.maximum(counts, 1))) ** self.class_weight_power
        w = per_class[y] * (1.0 if row_weight is None else np.asarray(row_weight, dtype=float))
        return np.asarray(w / w.mean())

    @property
    def _two_stage(self) -> bool:
        return self.evidence_alpha is not None and bool(self.evidence_columns)

    def _masks(self, n_features: int) -> tuple[np.ndarray, np.ndarray]:
        """(evidence columns, ridge evidence columns: the evidence columns outside the view blocks) as masks."""
        evidence = np.zeros(n_features, dtype=bool)
        evidence[list(self.evidence_columns)] = True
        ridge = evidence.copy()
        for block in self.view_blocks:
            ridge[list(block)] = False
        return evidence, ridge

    def _ridge_alphas(self, n_features: int) -> np.ndarray:
        """The second stage's penalty per ridge evidence column (``_split`` order)."""
        assert self.evidence_alpha is not None
        ridge = np.flatnonzero(self._masks(n_features)[1])
        return np.array([self.evidence_column_alpha.get(int(j), self.evidence_alpha) for j in ridge])

    def _split(self, lexicon_features: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """(base columns, ridge evidence columns, view blocks) of the lexicon features."""
        f = np.asarray(lexicon_features, dtype=float)
        if not self._two_stage:
            return f, f[:, :0], []
        evidence, ridge = self._masks(f.shape[1])
        return f[:, ~evidence], f[:, ridge], [f[:, list(block)] for block in self.view_blocks]

    def fit(
        self,
        neural_logits: np.ndarray | None,
        lexicon_features: np.ndarray,
        y: np.ndarray,
        row_weight: np.ndarray | None = None,
        temperature_rows: np.ndarray | None = None,
    ) -> SentimentStacker:
        """Fit on rows ``y``. ``row_weight``: optional per-row weights (e.g. ``domain_weights``);
        ``temperature_rows``: a boolean mask of the rows the final temperature is fitted on, unweighted (default
        all), e.g. natural text only, whose probabilities must mean what they say."""
        y = np.asarray(y, dtype=int)
        w = self._weights(y, row_weight)
        base, evidence, views = self._split(lexicon_features)
        x = stacker_inputs(neural_logits, base)
        self.mean_ = x.mean(axis=0)
        self.scale_ = _scale(x)
        z = _centred(neural_logits, len(y))
        theta = _fit_offset_softmax(np.zeros((len(y), 3)), [z], self._standardised(x), y, w, self.alpha)
        self.logit_scale_ = float(theta[0])
        self.intercept_ = theta[1:4]
        self.coef_ = theta[4:].reshape(3, -1)
        self.n_features_in_ = x.shape[1]  # the first stage's inputs (features and their interactions)
        if self.evidence_alpha is not None and self.evidence_columns:  # the second stage (``_two_stage``)
            # Neither centred nor given an intercept: a row whose gates are shut (all its evidence columns zero)
            # keeps the first stage's score exactly. (Calibrations before model 0.5.3 centred the columns and fitted
            # an intercept, which shifted every row's class bias; they load and score as they were fitted.)
            self.evidence_mean_ = np.zeros(evidence.shape[1])
            self.evidence_scale_ = _scale(evidence)
            offset = self._base_scores(neural_logits, base)
            xe = evidence / self.evidence_scale_
            theta = _fit_offset_softmax(
                offset,
                views,
                xe,
                y,
                w,
                self._ridge_alphas(lexicon_features.shape[1]),
                scale_start=0.0,
                fit_intercept=False,
            )
            m = len(views)
            self.view_scales_ = theta[:m]
            self.evidence_intercept_ = theta[m : m + 3]
            self.evidence_coef_ = theta[m + 3 :].reshape(3, -1)
        keep = np.ones(len(y), dtype=bool) if temperature_rows is None else np.asarray(temperature_rows, dtype=bool)
        scores = self.decision_function(neural_logits, lexicon_features)
        self.temperature_ = fit_temperature(scores[keep], y[keep])
        return self

    def _standardised(self, x: np.ndarray) -> np.ndarray:
        x = (x - self.mean_) / self.scale_
        return x if self.input_clip is None else np.clip(x, -self.input_clip, self.input_clip)

    def _base_scores(self, neural_logits: np.ndarray | None, base: np.ndarray) -> np.ndarray:
        x = self._standardised(stacker_inputs(neural_logits, base))
        z = _centred(neural_logits, len(x))
        return np.asarray(self.logit_scale_ * z + x @ self.coef_.T + self.intercept_)

    def decision_function(self, neural_logits: np.ndarray | None, lexicon_features: np.ndarray) -> np.ndarray:
        base, evidence, views = self._split(lexicon_features)
        scores = self._base_scores(neural_logits, base)
        if self._two_stage:
            xe = (evidence - self.evidence_mean_) / self.evidence_scale_
            scores = scores + xe @ self.evidence_coef_.T + self.evidence_intercept_
            for scale, view in zip(self.view_scales_, views, strict=True):
                scores = scores + scale * view
        return scores

    def predict_proba(self, neural_logits: np.ndarray | None, lexicon_features: np.ndarray) -> np.ndarray:
        return softmax(self.decision_function(neural_logits, lexicon_features) / self.temperature_)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "alpha": self.alpha,
            "class_weight_power": self.class_weight_power,
            "logit_scale": round(self.logit_scale_, 8),
            "coef": self.coef_.round(8).tolist(),
            "intercept": self.intercept_.round(8).tolist(),
            "mean": self.mean_.round(8).tolist(),
            "scale": self.scale_.round(8).tolist(),
            "temperature": round(self.temperature_, 6),
        }
        if self.input_clip is not None:
            out["input_clip"] = self.input_clip
        if self._two_stage:
            out["evidence"] = {
                "alpha": self.evidence_alpha,
                **(
                    {"column_alpha": {str(j): a for j, a in self.evidence_column_alpha.items()}}
                    if self.evidence_column_alpha
                    else {}
                ),
                "columns": list(self.evidence_columns),
                "coef": self.evidence_coef_.round(8).tolist(),
                "intercept": self.evidence_intercept_.round(8).tolist(),
                "mean": self.evidence_mean_.round(8).tolist(),
                "scale": self.evidence_scale_.round(8).tolist(),
            }
            if self.view_blocks:
                out["evidence"]["view_blocks"] = [list(b) for b in self.view_blocks]
                out["evidence"]["view_scales"] = self.view_scales_.round(8).tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentimentStacker:
        evidence = data.get("evidence")  # absent: a one-stage stacker (calibrations before model 0.5.0)
        model = cls(
            alpha=data["alpha"],
            class_weight_power=data["class_weight_power"],
            evidence_alpha=None if evidence is None else float(evidence["alpha"]),
            evidence_columns=() if evidence is None else evidence["columns"],
            view_blocks=() if evidence is None else evidence.get("view_blocks", ()),
            input_clip=data.get("input_clip"),  # absent: not clipped (calibrations before model 0.5.3)
            evidence_column_alpha=None
            if evidence is None
            else {int(j): a for j, a in evidence.get("column_alpha", {}).items()},
        )
        model.logit_scale_ = float(data["logit_scale"])
        model.coef_ = np.asarray(data["coef"], dtype=float)
        model.intercept_ = np.asarray(data["intercept"], dtype=float)
        model.mean_ = np.asarray(data["mean"], dtype=float)
        model.scale_ = np.asarray(data["scale"], dtype=float)
        model.temperature_ = float(data["temperature"])
        model.n_features_in_ = model.coef_.shape[1]
        if evidence is not None:
            model.evidence_coef_ = np.asarray(evidence["coef"], dtype=float)
            model.evidence_intercept_ = np.asarray(evidence["intercept"], dtype=float)
            model.evidence_mean_ = np.asarray(evidence["mean"], dtype=float)
            model.evidence_scale_ = np.asarray(evidence["scale"], dtype=float)
            model.view_scales_ = np.asarray(evidence.get("view_scales", ()), dtype=float)
        return model


def _scale(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return np.asarray(np.where(sd > 1e-9, sd, 1.0))


def _fit_offset_softmax(
    offset: np.ndarray,
    scaled: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float | np.ndarray,
    scale_start: float = 1.0,
    fit_intercept: bool = True,
) -> np.ndarray:
    """Weighted multinomial logistic regression ``softmax(offset + sum_i a_i * scaled_i + x @ W.T + b)``, ridge
    ``alpha`` on ``W`` (on the mean loss; one value, or one per column of ``x``). ``scaled``: (n, 3) logit blocks
    (the centred logits; the views' gated logits), each with a free, unpenalised scale ``a_i`` started at
    ``scale_start``. ``fit_intercept=False`` keeps ``b`` at zero. Returns ``a, b (3), W.ravel()``."""
    try:
        from scipy.optimize import minimize
    except ImportError as exc:
        raise MissingDependencyError.for_extra("scipy", "train") from exc
    onehot = np.eye(3)[y]
    n, k = x.shape
    m = len(scaled)

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, coef = theta[m : m + 3], theta[m + 3 :].reshape(3, k)
        s = offset + x @ coef.T + b + sum((a * block for a, block in zip(theta[:m], scaled, strict=True)), 0.0)
        p = softmax(s)
        nll = -float((w * np.log(np.clip((p * onehot).sum(axis=1), 1e-12, 1.0))).mean())
        r = (p - onehot) * w[:, None] / n
        grad_b = r.sum(axis=0) if fit_intercept else np.zeros(3)
        grad = [np.array([(r * block).sum() for block in scaled]), grad_b, (r.T @ x + alpha * coef).ravel()]
        return nll + 0.5 * float((alpha * coef**2).sum()), np.concatenate(grad)

    start = np.concatenate([np.full(m, scale_start), np.zeros(3 + 3 * k)])
    return np.asarray(minimize(loss_and_grad, start, jac=True, method="L-BFGS-B").x)


@dataclass
class Calibration:
    """Everything fitted after the fine-tune; saved as ``calibration.json`` next to the ONNX model."""

    feature_version: str
    feature_names: Sequence[str]
    neural_temperature: float
    stacker: SentimentStacker
    emotions: EmotionCalibrator
    info: dict[str, Any]
    irony_temperature: float | None = None  # None: the model has no irony head (or too few rows to fit one)
    plain_input: bool = False  # the hybrid's network reads each text in its plain form (affectlens.views)

    # -- runtime ----------------------------------------------------------------------------------
    def neural_sentiment_proba(self, sentiment_logits: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(sentiment_logits, dtype=float) / self.neural_temperature)

    def sentiment_proba(self, sentiment_logits: np.ndarray, lexicon_features: np.ndarray) -> np.ndarray:
        if lexicon_features.shape[1] != len(self.feature_names):
            raise ConfigError(
                f"calibration expects {len(self.feature_names)} lexicon features (version {self.feature_version}) "
                f"but got {lexicon_features.shape[1]}: re-run `affectlens calibrate` for this affectlens version"
            )
        return self.stacker.predict_proba(sentiment_logits, lexicon_features)

    def emotion_proba(self, emotion_logits: np.ndarray) -> np.ndarray:
        return self.emotions.predict_proba(emotion_logits)

    def check_heads(self, has_irony: bool, model_dir: Path | str) -> None:
        """Refuse a calibration fitted for other heads than the network's (e.g. copied from another model)."""
        uses_irony = (
            any(n == IRONY_FEATURE or n.startswith(("irony*", "ironic*")) for n in self.feature_names)
            or self.irony_temperature is not None
        )
        if uses_irony and not has_irony:
            raise ConfigError(
                f"{Path(model_dir) / CALIBRATION_FILE} was fitted for a network with the irony head, but this "
                "model has none: run `affectlens calibrate` for this model"
            )

    def irony_proba(self, irony_logits: np.ndarray) -> np.ndarray:
        """P(ironic) from the irony head's logits (temperature-scaled when fitted)."""
        return sigmoid(np.asarray(irony_logits, dtype=float) / (self.irony_temperature or 1.0))

    @property
    def emotion_thresholds(self) -> np.ndarray:
        return np.asarray(self.emotions.thresholds_)

    # -- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "feature_version": self.feature_version,
            "feature_names": list(self.feature_names),
            "neural_temperature": round(self.neural_temperature, 6),
            "sentiment_stacker": self.stacker.to_dict(),
            "emotions": self.emotions.to_dict(),
            "info": self.info,
            **({} if self.irony_temperature is None else {"irony_temperature": round(self.irony_temperature, 6)}),
            **({"plain_input": True} if self.plain_input else {}),
        }

    def save(self, model_dir: Path | str) -> Path:
        path = Path(model_dir) / CALIBRATION_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Calibration:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != CALIBRATION_FORMAT:
            raise ConfigError(f"{path}: calibration format {data.get('format')} is not {CALIBRATION_FORMAT}")
        return cls(
            feature_version=str(data["feature_version"]),
            feature_names=tuple(data["feature_names"]),
            neural_temperature=float(data["neural_temperature"]),
            stacker=SentimentStacker.from_dict(data["sentiment_stacker"]),
            emotions=EmotionCalibrator.from_dict(data["emotions"]),
            info=dict(data.get("info", {})),
            irony_temperature=None if data.get("irony_temperature") is None else float(data["irony_temperature"]),
            plain_input=bool(data.get("plain_input", False)),
        )

    @classmethod
    def load_optional(cls, model_dir: Path | str) -> Calibration | None:
        path = Path(model_dir) / CALIBRATION_FILE
        if not path.is_file():
            return None
        calibration = cls.load(path)
        from affectlens.evidence import EVIDENCE_FEATURES
        from affectlens.lexicons.features import COMPATIBLE_VERSIONS, FEATURE_NAMES, FEATURE_VERSION

        known = {*FEATURE_NAMES, IRONY_FEATURE, *EVIDENCE_FEATURES}
        unknown = [n for n in calibration.feature_names if n not in known]
        if calibration.feature_version not in COMPATIBLE_VERSIONS or unknown:
            raise ConfigError(
                f"{path} was fitted on lexicon features version {calibration.feature_version}"
                f"{' (' + ', '.join(unknown) + ')' if unknown else ''}, but this affectlens computes version "
                f"{FEATURE_VERSION}: re-run `affectlens calibrate`"
            )
        return calibration
