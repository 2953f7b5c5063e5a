"""``monitor(config)``: compare a current window of traffic with a reference window; the JSON summary.

Three groups of checks (see :mod:`affectlens.monitoring.checks` for the methods): ``text`` (the descriptors of
:mod:`affectlens.monitoring.descriptors`), ``prediction`` (label, confidence, valence, irony, each emotion's
predicted rate) and ``embedding`` (the network's sentence embeddings, on a seeded sample of each window).
``drift_detected`` is true when any check drifted.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.config import EngineOptions
from affectlens.monitoring.checks import DriftThresholds, run_checks
from affectlens.monitoring.descriptors import describe_texts, unknown_share_of
from affectlens.monitoring.windows import MonitorInputError, Window, prediction_columns, read_window, score_window

__all__ = ["MonitorConfig", "monitor"]

DEFAULT_EMBEDDING_SAMPLE = 1000


@dataclass(frozen=True)
class MonitorConfig:
    reference: str
    current: str
    html_path: str | None = None
    json_path: str | None = None
    text_field: str = "text"
    engine: EngineOptions = field(default_factory=EngineOptions)
    model_dir: str | None = None  # None: the shipped default model
    embedding_sample: int = DEFAULT_EMBEDDING_SAMPLE  # rows per window; 0 = no embedding check
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.embedding_sample < 0:
            raise MonitorInputError("--embedding-sample must be 0 (off) or a number of rows")


def _log(message: str) -> None:
    print(f"monitor: {message}", file=sys.stderr, flush=True)


def _check_models(windows: list[Window], engine: Any) -> None:
    """Predictions of the two windows must come from one model: a model change is not traffic drift."""
    engine_model = (str(engine.model_info.name), str(engine.model_info.version))
    seen = {w.name: (w.models() if w.source == "scored" else {engine_model}) for w in windows}
    models: set[tuple[str, str]] = set().union(*seen.values())
    if len(models) > 1:
        named = {name: ", ".join(sorted("/".join(m) for m in ms)) for name, ms in seen.items()}
        listed = "; ".join(f"{name}: {text}" for name, text in named.items())
        raise MonitorInputError(
            f"the windows' predictions come from different models ({listed}): compare predictions of one model "
            "(re-score one file, pass raw texts, or --model the model that scored the file)"
        )


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=size, replace=False)) if n > size else np.arange(n)


def _embeddings(windows: list[Window], engine: Any, size: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    neural = getattr(engine, "neural", None)
    if size == 0 or neural is None or not neural.has_embeddings:
        return None
    out = []
    for k, window in enumerate(windows):
        idx = _sample(len(window.texts), size, np.random.default_rng(seed + k))
        if window.embeddings is not None:
            out.append(window.embeddings[idx])
        else:
            out.append(neural.embeddings([window.texts[i] for i in idx]))
    return out[0], out[1]


def monitor(config: MonitorConfig, engine: Any = None) -> dict[str, Any]:
    """Run the checks; writes the HTML report and the JSON summary where asked; returns the summary."""
    start = time.perf_counter()
    windows = [read_window("reference", config.reference, config.text_field),
               read_window("current", config.current, config.text_field)]  # fmt: skip
    if engine is None:
        from affectlens.engine import Engine

        engine = Engine(config.engine.engine_config(config.model_dir))
    _check_models(windows, engine)
    neural = getattr(engine, "neural", None)
    want_embeddings = config.embedding_sample > 0 and neural is not None and neural.has_embeddings
    for window in windows:
        if window.source == "raw":
            _log(f"scoring {len(window.texts):,} texts of the {window.name} window")
            score_window(window, engine, with_embeddings=want_embeddings)
    unknown = unknown_share_of(neural) if neural is not None else None
    with_irony = all(p.get("irony") is not None for w in windows for p in w.predictions)
    groups: list[dict[str, dict[str, Any]]] = []
    for window in windows:
        groups.append({
            "text": describe_texts(window.texts, unknown),
            "prediction": prediction_columns(window.predictions, with_irony),
        })  # fmt: skip
    categorical = {name for name in groups[0]["prediction"] if name == "label" or name.startswith("emotion_")}
    embeddings = _embeddings(windows, engine, config.embedding_sample, config.seed)
    _log("running the drift checks")
    results = run_checks(groups[0], groups[1], categorical, embeddings, config.thresholds, config.html_path)
    summary: dict[str, Any] = {
        "drift_detected": any(r.drifted for r in results),
        "reference": windows[0].describe(),
        "current": windows[1].describe(),
        "groups": {g: _group(results, g) for g in ("text", "prediction", "embedding")},
        "checks": [r.to_dict() for r in results],
        "skipped_checks": _skipped_checks(neural, config, embeddings is not None),
        "report": config.html_path,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if config.json_path:
        Path(config.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(config.json_path).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _group(results: list[Any], group: str) -> dict[str, Any]:
    mine = [r for r in results if r.group == group]
    drifted = sum(r.drifted for r in mine)
    return {"checks": len(mine), "drifted": drifted, "drift_detected": drifted > 0}


def _skipped_checks(neural: Any, config: MonitorConfig, embedded: bool) -> dict[str, str]:
    skipped = {}
    if neural is None:
        skipped["text.unknown_token_share"] = "no network (lexicon-only mode)"
    if not embedded:
        if config.embedding_sample == 0:
            skipped["embedding.sentence"] = "--embedding-sample 0"
        elif neural is None:
            skipped["embedding.sentence"] = "no network (lexicon-only mode)"
        else:
            skipped["embedding.sentence"] = "the model's graph has no sentence_embedding output"
    return skipped
