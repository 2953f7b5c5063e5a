"""Metrics against scikit-learn as an oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affectlens.evaluation import metrics as M

sk = pytest.importorskip("sklearn.metrics")

labels3 = st.lists(st.integers(0, 2), min_size=3, max_size=60)


@settings(max_examples=60, deadline=None)
@given(labels3, st.randoms())
def test_classification_metrics_match_sklearn(y_true: list[int], rnd) -> None:  # type: ignore[no-untyped-def]
    y_pred = [rnd.randint(0, 2) for _ in y_true]
    present = sorted(set(y_true))
    assert M.macro_recall(y_true, y_pred, 3) == pytest.approx(
        sk.recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
    )
    assert M.macro_f1(y_true, y_pred, 3) == pytest.approx(
        sk.f1_score(y_true, y_pred, labels=sorted(set(y_true) | set(y_pred)), average="macro", zero_division=0)
    )
    np.testing.assert_array_equal(
        M.confusion_matrix(y_true, y_pred, 3), sk.confusion_matrix(y_true, y_pred, labels=[0, 1, 2])
    )
    prf = M.per_class_prf(y_true, y_pred, 3)
    p, r, f, _ = sk.precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2], zero_division=0)
    np.testing.assert_allclose(prf["precision"], p)
    np.testing.assert_allclose(prf["recall"], r)
    np.testing.assert_allclose(prf["f1"], f)


def test_multilabel_f1_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.random((200, 28)) < 0.1
    pred = rng.random((200, 28)) < 0.15
    y[:, 5] = False
    pred[:, 5] = False  # a label never true nor predicted: F1 0, as sklearn's zero_division=0
    assert M.multilabel_macro_f1(y, pred) == pytest.approx(sk.f1_score(y, pred, average="macro", zero_division=0))
    assert M.multilabel_micro_f1(y, pred) == pytest.approx(sk.f1_score(y, pred, average="micro", zero_division=0))


def test_probabilistic_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 3, 300)
    assert M.log_loss(probs, y) == pytest.approx(sk.log_loss(y, probs, labels=[0, 1, 2]))
    onehot = np.eye(3)[y]
    assert M.brier_score(probs, y) == pytest.approx(((probs - onehot) ** 2).sum(1).mean())


def test_ece_known_values() -> None:
    # Every prediction at confidence 0.9 and 90% correct: perfectly calibrated.
    probs = np.tile([0.9, 0.05, 0.05], (10, 1))
    y = np.array([0] * 9 + [1])
    assert M.expected_calibration_error(probs, y) == pytest.approx(0.0)
    # Confidence 0.9 but only half correct: ECE 0.4.
    y = np.array([0] * 5 + [1] * 5)
    assert M.expected_calibration_error(probs, y) == pytest.approx(0.4)
    bins = M.reliability_bins(probs, y)
    assert sum(b["count"] for b in bins) == 10 and len(bins) == 15
