"""Active-learning strategies on arrays: which rows of a scored pool to annotate next. Pure numpy, no model.

``probs`` is ``(n, classes)`` calibrated probabilities, ``vectors`` ``(n, dim)`` sentence embeddings. Every
strategy returns row indices in rank order (rank 1 = annotate first) and is deterministic for a seed.

- ``margin``: smallest top-1 minus top-2 probability first (the calls the model is closest to flipping).
- ``entropy``: largest predictive entropy first (uncertain over all classes, not just the top two).
- ``diverse``: k-center greedy (the core-set of Sener & Savarese, 2018) on L2-normalized embeddings: start at
  a seeded random row, then repeatedly add the row farthest from everything chosen, so the batch covers the
  pool's regions (topics, styles) instead of sampling its densest one. Ignores the model's uncertainty.
- ``margin+diverse``: take the ``MIX_FACTOR * n`` smallest-margin rows, then k-center among them, starting at
  the most uncertain. Why: margin alone spends a batch on near-duplicates of one confusing pattern (fifty
  variants of the same sarcastic template are all uncertain, but labelling five teaches as much); diversity
  alone spends it on easy, confident texts that cover the space but teach little. Filtering by uncertainty
  first, then spreading out, keeps both (the pre-filter of Zhdanov, 2019, "Diverse mini-batch active
  learning", with k-center in place of k-means: no iterations, and it is deterministic). A factor of 5 keeps
  the batch clearly uncertain while leaving k-center room to choose; with a small pool it degrades gracefully
  to plain k-center over everything.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "MIX_FACTOR",
    "STRATEGIES",
    "entropy",
    "k_center_greedy",
    "margin",
    "needs_embeddings",
    "normalize_rows",
    "rank",
]

MIX_FACTOR = 5
STRATEGIES = ("margin", "entropy", "diverse", "margin+diverse")


def _probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (rows, classes) with two or more classes, got shape {p.shape}")
    return p


def margin(probs: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row (0 = a coin flip between two labels, 1 = certain)."""
    p = np.sort(_probs(probs), axis=1)
    return np.asarray(p[:, -1] - p[:, -2])


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy per row in nats (0 = certain, ln(classes) = uniform)."""
    p = np.clip(_probs(probs), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return np.asarray(terms.sum(axis=1))


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32; an all-zero row stays zero), so L2 distance ranks as cosine."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"vectors must be (rows, dim), got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def k_center_greedy(vectors: np.ndarray, n: int, *, seed: int = 0, start: int | None = None) -> np.ndarray:
    """``min(n, rows)`` row indices by k-center greedy on the normalized rows: the first is ``start`` (default:
    a row drawn with ``seed``), each next one the row with the largest distance to its nearest chosen row
    (ties: the lowest index). Memory O(rows); time O(n * rows * dim)."""
    v = normalize_rows(vectors)
    rows = v.shape[0]
    k = min(int(n), rows)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    first = int(np.random.default_rng(seed).integers(rows)) if start is None else int(start)
    if not 0 <= first < rows:
        raise ValueError(f"start must be a row index below {rows}, got {first}")
    chosen = [first]
    nearest = _sq_distances(v, v[first])
    nearest[first] = -1.0
    for _ in range(k - 1):
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        np.minimum(nearest, _sq_distances(v, v[nxt]), out=nearest)
        nearest[chosen] = -1.0  # never again, even where rounding leaves a duplicate at distance > 0
    return np.asarray(chosen, dtype=np.int64)


def _sq_distances(v: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Squared L2 distance of every unit row to ``center`` (= 2 - 2 cosine), clipped at 0."""
    return np.maximum(2.0 - 2.0 * (v @ center), 0.0).astype(np.float64)


def _by_uncertainty(probs: np.ndarray, kind: str) -> np.ndarray:
    """All row indices, most uncertain first (stable: ties keep pool order)."""
    key = margin(probs) if kind == "margin" else -entropy(probs)
    return np.argsort(key, kind="stable")


def _margin_diverse(probs: np.ndarray, vectors: np.ndarray | None, n: int, seed: int) -> np.ndarray:
    if vectors is None:
        raise ValueError("margin+diverse needs embeddings")
    candidates = _by_uncertainty(probs, "margin")[: MIX_FACTOR * n]
    picked = k_center_greedy(np.asarray(vectors)[candidates], n, seed=seed, start=0)
    return candidates[picked]


def _diverse(probs: np.ndarray, vectors: np.ndarray | None, n: int, seed: int) -> np.ndarray:
    if vectors is None:
        raise ValueError("diverse needs embeddings")
    return k_center_greedy(vectors, n, seed=seed)


_RANKERS: dict[str, Callable[[np.ndarray, np.ndarray | None, int, int], np.ndarray]] = {
    "margin": lambda p, v, n, s: _by_uncertainty(p, "margin")[:n],
    "entropy": lambda p, v, n, s: _by_uncertainty(p, "entropy")[:n],
    "diverse": _diverse,
    "margin+diverse": _margin_diverse,
}


def needs_embeddings(strategy: str) -> bool:
    return "diverse" in strategy


def rank(strategy: str, probs: np.ndarray, vectors: np.ndarray | None, n: int, *, seed: int = 0) -> np.ndarray:
    """The ``min(n, rows)`` rows to annotate, in rank order, by ``strategy`` (one of :data:`STRATEGIES`)."""
    if strategy not in _RANKERS:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    p = _probs(probs)
    if vectors is not None and len(vectors) != len(p):
        raise ValueError(f"got {len(p)} rows of probabilities but {len(vectors)} embeddings")
    return np.asarray(_RANKERS[strategy](p, vectors, int(n), seed), dtype=np.int64)
