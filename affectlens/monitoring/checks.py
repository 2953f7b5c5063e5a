"""Drift checks with Evidently: one column per check, methods chosen to be stable in the sample size.

* numerical columns (text descriptors, confidence, valence, irony): Wasserstein distance normed by the
  reference's standard deviation, drift at >= 0.1 (Evidently's default for large samples);
* categorical columns (label, each emotion's predicted yes/no): Jensen-Shannon distance, drift at >= 0.1;
* embeddings: a domain classifier (Evidently's ``ModelDriftMethod``: logistic regression told to separate the
  windows, ROC AUC on held-out rows), drift at ROC AUC > 0.55.

A check drifts when the effect is large enough (the distance reaches its threshold) *and* unlikely by chance:
Distances rather than p-values decide the size (with thousands of rows, a p-value test flags trivial
differences), and a significance gate keeps small windows from alarming on noise (a normed Wasserstein distance
of 0.1 is within the noise of two 300-row samples of one source): for the columns, the statistic must exceed
all of ``PERMUTATIONS`` random re-splits of the pooled rows (permutation p < ``ALPHA``); for the embeddings, the
ROC AUC's one-sided p under no drift (normal approximation of the Mann-Whitney statistic) must be < ``ALPHA``.

Evidently is pinned (``monitor`` extra): the combined HTML page uses its widget renderer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.errors import MissingDependencyError

__all__ = ["CheckResult", "DriftThresholds", "run_checks"]

NUMERIC_METHOD = "wasserstein"
CATEGORICAL_METHOD = "jensenshannon"
EMBEDDING_METHOD = "domain_classifier_roc_auc"
PERMUTATIONS = 100
ALPHA = 0.01  # significance gate of every check (with 100 permutations: no re-split reaches the statistic)
CATEGORY_FLOOR = 1e-6  # share given to a category absent from one window (the JS distance needs no zeros)


@dataclass(frozen=True)
class DriftThresholds:
    numeric: float = 0.1  # normed Wasserstein distance
    categorical: float = 0.1  # Jensen-Shannon distance
    embedding: float = 0.55  # ROC AUC of the domain classifier


@dataclass(frozen=True)
class CheckResult:
    name: str  # e.g. "text.chars", "prediction.label", "embedding.sentence"
    group: str  # text, prediction or embedding
    column: str
    method: str
    statistic: float
    threshold: float
    drifted: bool
    p_value: float | None  # chance of a statistic this large with no drift (permutations; normal for the AUC)
    reference: float | dict[str, float] | None  # mean (numerical) or shares (categorical)
    current: float | dict[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["statistic"] = round(self.statistic, 6)
        out["effect_reached"] = (
            self.statistic > self.threshold if self.group == "embedding" else (self.statistic >= self.threshold)
        )
        return out


def _evidently() -> Any:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's usage telemetry: off (and nothing is reachable)
    try:
        import evidently
    except ImportError as exc:
        raise MissingDependencyError.for_extra("evidently", "monitor") from exc
    return evidently


def _normed_wasserstein(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))  # Evidently's normalization


def _js_distance(ref_codes: np.ndarray, cur_codes: np.ndarray, k: int) -> float:
    from scipy.spatial.distance import jensenshannon

    p = np.maximum(np.bincount(ref_codes, minlength=k) / max(1, len(ref_codes)), CATEGORY_FLOOR)
    q = np.maximum(np.bincount(cur_codes, minlength=k) / max(1, len(cur_codes)), CATEGORY_FLOOR)
    return float(jensenshannon(p, q))


def permutation_p_value(ref: Sequence[Any], cur: Sequence[Any], categorical: bool, seed: int = 0) -> float:
    """Share of random re-splits of the pooled rows whose statistic reaches the observed one (+1 smoothing)."""
    stat: Callable[[np.ndarray, np.ndarray], float]
    if categorical:
        _, codes = np.unique(np.asarray([*ref, *cur], dtype=str), return_inverse=True)
        k = int(codes.max()) + 1 if len(codes) else 1

        def js(a: np.ndarray, b: np.ndarray) -> float:
            return _js_distance(a, b, k)

        stat, pooled = js, codes
    else:
        pooled = np.asarray([*ref, *cur], dtype=float)
        stat = _normed_wasserstein
    n_ref = len(ref)
    keep = ~np.isnan(pooled) if not categorical else np.ones(len(pooled), dtype=bool)
    observed = stat(pooled[:n_ref][keep[:n_ref]], pooled[n_ref:][keep[n_ref:]])
    pooled, n_ref = pooled[keep], int(keep[:n_ref].sum())
    if n_ref == 0 or n_ref == len(pooled):
        return 1.0
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(PERMUTATIONS):
        perm = rng.permutation(pooled)
        hits += stat(perm[:n_ref], perm[n_ref:]) >= observed - 1e-12
    return (hits + 1) / (PERMUTATIONS + 1)


def auc_p_value(auc: float, n_ref: int, n_cur: int) -> float:
    """One-sided p of a ROC AUC this high with no drift: normal approximation of the Mann-Whitney statistic on
    the domain classifier's held-out half (Evidently holds out 50 % of the pooled rows)."""
    from scipy.stats import norm

    a, b = max(1, n_ref // 2), max(1, n_cur // 2)
    se = float(np.sqrt((a + b + 1) / (12.0 * a * b)))
    return float(norm.sf((auc - 0.5) / se))


def _summary(values: Sequence[Any], categorical: bool) -> float | dict[str, float] | None:
    if categorical:
        labels, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
        return {str(k): round(float(c) / max(1, len(values)), 4) for k, c in zip(labels, counts, strict=True)}
    arr = np.asarray(values, dtype=float)
    return round(float(np.nanmean(arr)), 6) if arr.size else None


def run_checks(
    reference: dict[str, dict[str, Sequence[Any]]],
    current: dict[str, dict[str, Sequence[Any]]],
    categorical: set[str],
    embeddings: tuple[np.ndarray, np.ndarray] | None,
    thresholds: DriftThresholds,
    html_path: str | Path | None = None,
) -> list[CheckResult]:
    """Run every check; ``reference[group][column]`` are the column values. Writes the HTML page when asked."""
    _evidently()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    columns = [(group, name) for group, cols in reference.items() for name in cols if name in current.get(group, {})]
    ref_df = pd.DataFrame({f"{g}.{c}": list(reference[g][c]) for g, c in columns})
    cur_df = pd.DataFrame({f"{g}.{c}": list(current[g][c]) for g, c in columns})
    cat_cols = [f"{g}.{c}" for g, c in columns if c in categorical]
    num_cols = [f"{g}.{c}" for g, c in columns if c not in categorical]
    for df in (ref_df, cur_df):
        df[cat_cols] = df[cat_cols].astype(str)
    definition = DataDefinition(numerical_columns=num_cols, categorical_columns=cat_cols)
    metrics = [
        ValueDrift(column=col, method=CATEGORICAL_METHOD if col in cat_cols else NUMERIC_METHOD,
                   threshold=thresholds.categorical if col in cat_cols else thresholds.numeric)
        for col in ref_df.columns
    ]  # fmt: skip
    snapshot = Report(metrics).run(
        Dataset.from_pandas(cur_df, data_definition=definition), Dataset.from_pandas(ref_df, data_definition=definition)
    )
    values = [m["value"] for m in snapshot.dict()["metrics"]]
    results = []
    for (group, name), value in zip(columns, values, strict=True):
        col = f"{group}.{name}"
        is_cat = col in cat_cols
        threshold = thresholds.categorical if is_cat else thresholds.numeric
        method = "jensen_shannon_distance" if is_cat else "wasserstein_distance_normed"
        p = permutation_p_value(list(ref_df[col]), list(cur_df[col]), is_cat) if value >= threshold else None
        drifted = bool(value >= threshold and p is not None and p < ALPHA)
        results.append(CheckResult(col, group, name, method, float(value), threshold, drifted, p,
                                   _summary(ref_df[col], is_cat), _summary(cur_df[col], is_cat)))  # fmt: skip
    snapshots = [("Text descriptors and predictions", snapshot)]
    if embeddings is not None:
        result, emb_snapshot = _embedding_check(embeddings, thresholds)
        results.append(result)
        snapshots.append(("Sentence embeddings", emb_snapshot))
    if html_path is not None:
        write_html(results, snapshots, html_path)
    return results


def _embedding_check(embeddings: tuple[np.ndarray, np.ndarray], thresholds: DriftThresholds) -> tuple[CheckResult, Any]:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics.embeddings import EmbeddingsDrift, ModelDriftMethod

    ref, cur = embeddings
    names = [f"e{j}" for j in range(ref.shape[1])]
    definition = DataDefinition(numerical_columns=names, embeddings={"sentence": names})
    method = ModelDriftMethod(threshold=thresholds.embedding)
    snapshot = Report([EmbeddingsDrift(embeddings_name="sentence", drift_method=method)]).run(
        Dataset.from_pandas(pd.DataFrame(cur, columns=names), data_definition=definition),
        Dataset.from_pandas(pd.DataFrame(ref, columns=names), data_definition=definition),
    )
    auc = float(snapshot.dict()["metrics"][0]["value"])
    p = auc_p_value(auc, len(ref), len(cur))
    drifted = auc > thresholds.embedding and p < ALPHA
    result = CheckResult("embedding.sentence", "embedding", "sentence", EMBEDDING_METHOD, auc, thresholds.embedding,
                         drifted, round(p, 8), None, None)  # fmt: skip
    return result, snapshot


def _shown(value: float | dict[str, float] | None) -> str:
    """A window's summary in the table: the mean, or the shares of the categories (largest first)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:.0%}" for k, v in sorted(value.items(), key=lambda kv: -kv[1])[:3])
    return f"{value:.3g}"


def write_html(results: Sequence[CheckResult], snapshots: Sequence[tuple[str, Any]], path: str | Path) -> Path:
    """One page: our drift table first, then each Evidently report's widgets (one self-contained HTML file)."""
    from evidently.core.metric_types import render_widgets
    from evidently.legacy.renderers.html_widgets import group_widget, header_text, table_data

    drifted = sum(r.drifted for r in results)
    table = table_data(
        title=f"affectlens drift checks: {drifted} of {len(results)} drifted",
        column_names=["check", "group", "method", "statistic", "threshold", "drifted", "reference", "current"],
        data=[[r.name, r.group, r.method, f"{r.statistic:.4f}", r.threshold, "DRIFT" if r.drifted else "ok",
               _shown(r.reference), _shown(r.current)] for r in results],
    )  # fmt: skip
    verdict = "Drift detected" if drifted else "No drift detected"
    widgets = [header_text(label=f"{verdict} ({drifted} of {len(results)} checks)"), table]
    widgets += [group_widget(title=title, widgets=list(snap._widgets)) for title, snap in snapshots]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_widgets(widgets), encoding="utf-8")
    return path
