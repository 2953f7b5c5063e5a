"""A window of traffic for drift checks: its texts and one prediction per text, read from a file.

A file is either raw texts (JSONL / CSV / TSV / Parquet with a text field) or an output of ``affectlens score``
(JSONL prediction objects, or the flat CSV/Parquet columns) that kept the text (``--keep text``), or a sample
file the TorchServe handler wrote (``affectlens serve --sample-predictions``). Scored files are detected by their
fields and their predictions are reused; raw texts are scored here, with the engine, once.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from affectlens.batch.readers import format_of, import_pyarrow_parquet, open_reader
from affectlens.batch.types import ReadOptions
from affectlens.errors import AffectlensError
from affectlens.labels import EMOTION_LABELS, SENTIMENT_LABELS

__all__ = ["MIN_ROWS", "MonitorInputError", "Window", "read_window", "score_window"]

MIN_ROWS = 30  # fewer usable rows in a window than this cannot support a drift test
NESTED_FIELDS = ("label", "scores", "valence", "emotions_predicted", "irony", "model")
FLAT_FIELDS = (
    "label", *(f"score_{n}" for n in SENTIMENT_LABELS), "valence", "emotions_predicted", "irony",
    "model_name", "model_version",
)  # fmt: skip
SCORE_CHUNK = 256
PROGRESS_EVERY = 2048


class MonitorInputError(AffectlensError):
    """A window cannot be used (missing field, too few rows, a scored file without its texts, ...)."""

    code = "bad_monitor_input"


@dataclass
class Window:
    """``texts[i]`` and ``predictions[i]`` (the nested JSON form) for every usable row of ``path``."""

    name: str  # "reference" or "current"
    path: str
    source: str  # "scored" (predictions read from the file) or "raw" (scored here)
    texts: list[str]
    predictions: list[dict[str, Any]]
    rows: int  # rows read (usable or not)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows left out
    embeddings: np.ndarray | None = None  # (n, hidden) for raw windows scored with embeddings

    def models(self) -> set[tuple[str, str]]:
        return {(str(m.get("name")), str(m.get("version"))) for p in self.predictions if (m := p.get("model"))}

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "rows": self.rows, "used": len(self.texts),
                "skipped": dict(self.skipped), "models": sorted("/".join(m) for m in self.models())}  # fmt: skip


def columns_of(path: str, fmt: str) -> list[str]:
    """Field names: the JSONL keys of the first object line, the CSV header, or the Parquet schema."""
    if fmt == "parquet":
        return list(import_pyarrow_parquet().read_schema(path).names)
    with open(path, "rb") as f:
        if fmt == "csv":
            first = f.readline().decode("utf-8", errors="replace").removeprefix("\ufeff")
            delimiter = "\t" if Path(path).suffix.lower() == ".tsv" else ","
            return next(csv.reader([first], delimiter=delimiter), [])
        for raw in f:
            if raw.strip():
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(obj, dict) and "error" not in obj:
                    return list(obj)
    return []


def read_window(name: str, path: str, text_field: str) -> Window:
    """Read a window (see the module docstring); raises :class:`MonitorInputError` with what to do."""
    if not Path(path).is_file():
        raise MonitorInputError(f"{name} file {path} not found")
    fmt = format_of(path)
    columns = columns_of(path, fmt)
    if not columns:
        raise MonitorInputError(f"{name} file {path} is empty (no rows with fields)")
    nested = {"label", "scores"} <= set(columns)
    flat = {"label", "score_negative", "score_positive"} <= set(columns)
    scored = nested or flat
    if text_field not in columns:
        hint = (
            "it is an `affectlens score` output without the texts: re-run score with `--keep " + text_field + "`"
            if scored
            else f"set --text-field to the field with the text (fields: {', '.join(columns[:20])})"
        )
        raise MonitorInputError(f"{name} file {path} has no {text_field!r} field: {hint}")
    wanted = (NESTED_FIELDS if nested else FLAT_FIELDS) if scored else ()
    keep = tuple(f for f in wanted if f in columns)
    reader = open_reader(path, ReadOptions(text_field=text_field, id_field=None, keep=keep), fmt)
    texts: list[str] = []
    predictions: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    rows = 0
    for record, _ in reader.records():
        rows += 1
        if record.error is not None or not isinstance(record.text, str) or not record.text.strip():
            skipped[record.error[0] if record.error else "empty_text"] += 1
            continue
        if scored:
            values = dict(zip(keep, record.keep, strict=True))
            prediction = values if nested else _nested(values)
            if not isinstance(prediction.get("label"), str) or prediction["label"] not in SENTIMENT_LABELS:
                skipped["no_prediction"] += 1  # an error row of a score output
                continue
            predictions.append(prediction)
        texts.append(record.text)
    window = Window(name, path, "scored" if scored else "raw", texts, predictions, rows, dict(skipped))
    if len(texts) < MIN_ROWS:
        raise MonitorInputError(
            f"{name} file {path} has {len(texts)} usable rows (of {rows}); a drift check needs at least {MIN_ROWS}"
        )
    return window


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """A flat (CSV/Parquet) score row as the nested prediction object."""
    predicted = flat.get("emotions_predicted")
    if isinstance(predicted, str):
        predicted = [e for e in predicted.split(";") if e]
    out: dict[str, Any] = {
        "label": flat.get("label"),
        "scores": {n: _float(flat.get(f"score_{n}")) for n in SENTIMENT_LABELS},
        "valence": _float(flat.get("valence")),
        "emotions_predicted": list(predicted or []),
        "model": {"name": flat.get("model_name"), "version": flat.get("model_version")},
    }
    if flat.get("irony") not in (None, ""):
        out["irony"] = _float(flat["irony"])
    return out


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def score_window(window: Window, engine: Any, with_embeddings: bool, progress: IO[str] | None = None) -> None:
    """Score a raw window with ``engine`` in chunks (embeddings from the same pass when asked), in place.

    Texts the engine refuses (e.g. too long) are dropped from the window and counted in ``skipped``."""
    stream = progress if progress is not None else sys.stderr
    texts: list[str] = []
    predictions: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
    total = len(window.texts)
    for start in range(0, total, SCORE_CHUNK):
        chunk = window.texts[start : start + SCORE_CHUNK]
        embeddings: list[Any] | None = [] if with_embeddings else None
        results = engine.score_batch(chunk, embeddings=embeddings) if with_embeddings else engine.score_batch(chunk)
        for k, result in enumerate(results):
            payload = result.to_dict()
            if "error" in payload:
                window.skipped[payload["error"]["code"]] = window.skipped.get(payload["error"]["code"], 0) + 1
                continue
            texts.append(chunk[k])
            predictions.append(payload)
            if embeddings is not None:
                vectors.append(embeddings[k])
        done = min(total, start + SCORE_CHUNK)
        if total > PROGRESS_EVERY and (done % PROGRESS_EVERY < SCORE_CHUNK or done == total):
            print(f"monitor: scored {done:,}/{total:,} rows of the {window.name} window", file=stream, flush=True)
    window.texts, window.predictions = texts, predictions
    window.embeddings = np.stack(vectors) if vectors else None
    if len(texts) < MIN_ROWS:
        raise MonitorInputError(f"{window.name} file {window.path}: only {len(texts)} rows could be scored")


def prediction_columns(predictions: Sequence[dict[str, Any]], with_irony: bool) -> dict[str, list[Any]]:
    """Prediction columns for drift checks: label, confidence, valence, irony, one 0/1 column per emotion."""
    out: dict[str, list[Any]] = {
        "label": [p["label"] for p in predictions],
        "confidence": [max((p.get("scores") or {}).values(), default=float("nan")) for p in predictions],
        "valence": [_float(p.get("valence")) for p in predictions],
    }
    if with_irony:
        out["irony"] = [_float(p.get("irony")) for p in predictions]
    predicted = [set(p.get("emotions_predicted") or ()) for p in predictions]
    for emotion in EMOTION_LABELS:
        out[f"emotion_{emotion}"] = ["yes" if emotion in s else "no" for s in predicted]
    return out
