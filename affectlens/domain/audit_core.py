"""The label audit itself, on arrays: out-of-sample probabilities of a linear probe, then cleanlab.

A logistic regression (standardized inputs, balanced class weights) is fitted on frozen sentence embeddings in
K stratified folds, so every row's probabilities come from a probe that never saw that row's label; cleanlab's
confident learning (``find_label_issues``, pruning by its estimated noise rates) flags the rows whose given label
disagrees with what the rest of the data implies, ranked by cleanlab's label quality score (lowest first).
Works for any label set with at least two classes.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from affectlens.errors import ConfigError, MissingDependencyError
from affectlens.evaluation import metrics as M

__all__ = ["DEFAULT_FOLDS", "PROBE_C", "RANK_METHODS", "LabelAudit", "audit_arrays", "out_of_sample_probs"]

DEFAULT_FOLDS = 5
PROBE_C = 0.03  # inverse L2 strength on standardized 384-d embeddings (best log loss, 5-fold CV on FPB train)
RANK_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")  # cleanlab's scores


@dataclass(frozen=True)
class LabelAudit:
    """The audit of ``n`` rows with ``k`` classes (column ``j`` of ``pred_probs`` is ``classes[j]``).

    ``given``: each row's label as a column index; ``quality``: cleanlab's label quality score (0 = surely
    wrong, 1 = surely right); ``suspects``: indices of the rows cleanlab flags, the lowest quality first."""

    classes: tuple[str, ...]
    given: np.ndarray
    pred_probs: np.ndarray
    quality: np.ndarray
    suspects: np.ndarray
    folds: int
    rank_by: str

    @property
    def suggested(self) -> np.ndarray:
        """The probe's label (column index) for each row."""
        return np.asarray(self.pred_probs.argmax(axis=1))

    def probe_metrics(self) -> dict[str, float]:
        """Cross-validated accuracy and macro-F1 of the probe against the given labels."""
        k = len(self.classes)
        return {
            "accuracy": round(float((self.suggested == self.given).mean()), 4),
            "macro_f1": round(M.macro_f1(self.given, self.suggested, k), 4),
        }


def _sklearn() -> Any:
    try:
        import sklearn.linear_model as linear_model
        import sklearn.model_selection as model_selection
        import sklearn.pipeline as pipeline
        import sklearn.preprocessing as preprocessing
    except ImportError:
        raise MissingDependencyError.for_extra("scikit-learn", "domain") from None
    return linear_model, model_selection, pipeline, preprocessing


def out_of_sample_probs(
    features: np.ndarray, y: np.ndarray, folds: int = DEFAULT_FOLDS, seed: int = 0, c: float = PROBE_C
) -> np.ndarray:
    """(n, k) probabilities for ``y`` in 0..k-1, each row predicted by a probe fitted on the other folds."""
    linear_model, model_selection, pipeline, preprocessing = _sklearn()
    k = int(y.max()) + 1
    probe = pipeline.make_pipeline(
        preprocessing.StandardScaler(),
        linear_model.LogisticRegression(C=c, class_weight="balanced", max_iter=2000),
    )
    cv = model_selection.StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), _one_blas_thread():
        # a class with fewer rows than folds: StratifiedKFold warns, the folds still hold every row once
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        warnings.filterwarnings("ignore", message=".*Number of classes in training fold.*")
        probs = model_selection.cross_val_predict(probe, features, y, cv=cv, method="predict_proba")
    probs = np.clip(np.asarray(probs, dtype=np.float64).reshape(len(y), k), 1e-9, None)
    return np.asarray(probs / probs.sum(axis=1, keepdims=True))


def audit_arrays(
    features: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    rank_by: str = "self_confidence",
) -> LabelAudit:
    """Audit rows with ``features`` (n, d) and ``labels`` (n,) indices into ``classes``.

    Classes without rows are dropped first (cleanlab needs every column to be a label that occurs)."""
    if rank_by not in RANK_METHODS:
        raise ConfigError(f"--rank-by must be one of {', '.join(RANK_METHODS)}, not {rank_by!r}")
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, not {folds}")
    labels = np.asarray(labels, dtype=np.int64)
    present = np.unique(labels)
    if len(present) < 2:
        raise ConfigError("an audit needs at least two classes with rows")
    if folds > len(labels):
        raise ConfigError(f"--folds {folds} is more than the {len(labels)} rows: use fewer folds")
    remap = np.full(len(classes), -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    y = remap[labels]
    probs = out_of_sample_probs(np.asarray(features, dtype=np.float32), y, folds, seed)
    filters, rank = _cleanlab()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about tiny classes; the result still holds
        suspects = filters.find_label_issues(
            y, probs, return_indices_ranked_by=rank_by, filter_by="prune_by_noise_rate", n_jobs=1
        )
    quality = rank.get_label_quality_scores(y, probs, method=rank_by)
    kept = tuple(classes[j] for j in present)
    return LabelAudit(kept, y, probs, np.asarray(quality), np.asarray(suspects, dtype=np.int64), folds, rank_by)


def _one_blas_thread() -> Any:
    """Single-threaded BLAS for the probe: small fits gain nothing from threads and oversubscribed cores make
    them tens of times slower (measured: 0.4 s vs 7-20 s per fit on 2 busy cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _cleanlab() -> tuple[Any, Any]:
    try:
        import cleanlab.filter as filters
        import cleanlab.rank as rank
    except ImportError:
        raise MissingDependencyError.for_extra("cleanlab", "domain") from None
    return filters, rank
