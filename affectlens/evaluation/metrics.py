"""Classification and calibration metrics in plain numpy (tested against scikit-learn as an oracle)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    t = np.asarray(y_true, dtype=int)
    p = np.asarray(y_pred, dtype=int)
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (t, p), 1)
    return matrix


def per_class_prf(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class (0 where undefined, as sklearn's zero_division=0)."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    support = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def macro_recall(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> float:
    """Macro-averaged recall over classes present in y_true (TweetEval sentiment's official metric)."""
    prf = per_class_prf(y_true, y_pred, n_classes)
    present = prf["support"] > 0
    return float(prf["recall"][present].mean())


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> float:
    prf = per_class_prf(y_true, y_pred, n_classes)
    present = (prf["support"] > 0) | (np.bincount(np.asarray(y_pred, dtype=int), minlength=n_classes) > 0)
    return float(prf["f1"][present].mean())


def polarity_decisions(scores: ArrayLike) -> np.ndarray:
    """Negative (0) or positive (2) from 3-class scores, ignoring neutral, for binary-labelled data
    (SST-2): the larger of the two polarity scores; a tie is positive."""
    s = np.asarray(scores)
    return np.where(s[:, 2] >= s[:, 0], 2, 0)


def multilabel_f1(y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    """F1 of every label column (0 where a label is never true nor predicted)."""
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    tp = (t & p).sum(axis=0).astype(float)
    denom = t.sum(axis=0) + p.sum(axis=0)
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def multilabel_macro_f1(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    return float(multilabel_f1(y_true, y_pred).mean())


def multilabel_micro_f1(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    tp = float((t & p).sum())
    denom = float(t.sum() + p.sum())
    return 2 * tp / denom if denom else 0.0


def _confidence_bins(
    probs: ArrayLike, y_true: ArrayLike, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(confidence, correct, bin index, bin edges) for top-label calibration metrics."""
    p = np.asarray(probs, dtype=float)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == np.asarray(y_true, dtype=int)).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    return confidence, correct, bins, edges


def expected_calibration_error(probs: ArrayLike, y_true: ArrayLike, n_bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins (Guo et al. 2017)."""
    confidence, correct, bins, _ = _confidence_bins(probs, y_true, n_bins)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def reliability_bins(probs: ArrayLike, y_true: ArrayLike, n_bins: int = 15) -> list[dict[str, float]]:
    """Per-bin confidence, accuracy and count for a reliability diagram."""
    confidence, correct, bins, edges = _confidence_bins(probs, y_true, n_bins)
    out = []
    for b in range(n_bins):
        in_bin = bins == b
        out.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": int(in_bin.sum()),
                "confidence": float(confidence[in_bin].mean()) if in_bin.any() else 0.0,
                "accuracy": float(correct[in_bin].mean()) if in_bin.any() else 0.0,
            }
        )
    return out


def brier_score(probs: ArrayLike, y_true: ArrayLike) -> float:
    """Multi-class Brier score: mean over rows of the squared distance to the one-hot target."""
    p = np.asarray(probs, dtype=float)
    onehot = np.eye(p.shape[1])[np.asarray(y_true, dtype=int)]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def log_loss(probs: ArrayLike, y_true: ArrayLike, eps: float = 1e-15) -> float:
    p = np.clip(np.asarray(probs, dtype=float), eps, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    t = np.asarray(y_true, dtype=int)
    return float(-np.log(p[np.arange(len(t)), t]).mean())
