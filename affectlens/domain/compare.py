"""``affectlens compare``: two model folders on the same labelled data, with paired bootstrap intervals.

Both models score every row through ``Engine.score_batch`` (the serving code) in the same mode (the engine
flags apply to both, so the comparison is about the model folders; ``affectlens evaluate`` compares modes).
Writes ``DIR/compare.json`` and ``DIR/compare.md``: per model accuracy, macro-F1, per-class F1 and ECE; the
differences B - A with 95% paired bootstrap intervals; how often the two agree; the most confident
disagreements. The data must carry sentiment labels (negative / neutral / positive).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.config import EngineOptions, add_engine_arguments
from affectlens.domain.labelled import read_labelled, summary_of
from affectlens.errors import ConfigError, ModelNotFoundError
from affectlens.evaluation import metrics as M
from affectlens.labels import SENTIMENT_LABELS

__all__ = ["ModelScores", "compare_scores", "markdown", "register_command", "run", "score_model"]

SCORE_CHUNK = 256
PROGRESS_FROM = 1024
K = len(SENTIMENT_LABELS)
MD_TEXT_CHARS = 160


@dataclass(frozen=True)
class ModelScores:
    """One model's sentiment probabilities (n, 3) for the rows, NaN where the engine refused a row."""

    path: str
    model: str  # "name version" from the model card
    probs: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return np.asarray(~np.isnan(self.probs).any(axis=1))


def resolve_model(value: str | None) -> Path:
    """``None`` or ``default``: the shipped model; else a model folder that must exist."""
    from affectlens.engine import default_model_dir

    if value in (None, "", "default"):
        return default_model_dir()
    path = Path(value)
    if not path.is_dir():
        raise ModelNotFoundError(
            f"model folder {value} not found: give a folder like affectlens/default_model (e.g. one written by "
            "`affectlens adapt`), or `default` for the shipped model"
        )
    return path


def score_model(texts: Sequence[str], model_dir: Path, options: EngineOptions, tag: str = "") -> ModelScores:
    """Score ``texts`` with the model in ``model_dir`` in chunks (progress on stderr for large files)."""
    from affectlens.engine import Engine

    engine = Engine(options.engine_config(str(model_dir)))
    probs = np.full((len(texts), K), np.nan)
    for start in range(0, len(texts), SCORE_CHUNK):
        for k, result in enumerate(engine.score_batch(list(texts[start : start + SCORE_CHUNK]))):
            scores = getattr(result, "scores", None)
            if scores is not None:
                probs[start + k] = [scores[name] for name in SENTIMENT_LABELS]
        done = min(len(texts), start + SCORE_CHUNK)
        if len(texts) > PROGRESS_FROM and (done % (4 * SCORE_CHUNK) == 0 or done == len(texts)):
            print(f"compare: model {tag} scored {done:,}/{len(texts):,} rows", file=sys.stderr, flush=True)
    info = engine.model_info
    return ModelScores(str(model_dir), f"{info.name} {info.version}", probs)


def _model_metrics(y: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    pred = probs.argmax(axis=1)
    prf = M.per_class_prf(y, pred, K)
    return {
        "accuracy": float((pred == y).mean()),
        "macro_f1": M.macro_f1(y, pred, K),
        "ece": M.expected_calibration_error(probs, y),
        "per_class_f1": {name: float(prf["f1"][k]) for k, name in enumerate(SENTIMENT_LABELS)},
        "support": {name: int(prf["support"][k]) for k, name in enumerate(SENTIMENT_LABELS)},
    }


def _differences(y: np.ndarray, pa: np.ndarray, pb: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """B - A for accuracy, macro-F1 (on labels) and ECE (on probabilities), with 95% paired bootstrap intervals."""
    from affectlens.evaluation.report import bootstrap_diff

    metrics: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
        "accuracy": (lambda t, p: float((t == p.argmax(axis=1)).mean()), True),
        "macro_f1": (lambda t, p: M.macro_f1(t, p.argmax(axis=1), K), True),
        "ece": (lambda t, p: M.expected_calibration_error(p, t), False),
    }
    out: dict[str, Any] = {}
    for name, (metric, higher_is_better) in metrics.items():
        d: dict[str, float | None]
        if n_boot > 0:
            d = dict(bootstrap_diff(y, pb, pa, metric, n=n_boot, seed=seed))
        else:
            d = {"diff": metric(y, pb) - metric(y, pa), "ci95_low": None, "ci95_high": None}
        out[name] = {
            **{k: (None if v is None else float(v)) for k, v in d.items()},
            "higher_is_better": higher_is_better,
        }
    return out


def _disagreements(
    pa: np.ndarray, pb: np.ndarray, y: np.ndarray, texts: Sequence[str], lines: Sequence[int], top: int
) -> list[dict[str, Any]]:
    label_a, label_b = pa.argmax(axis=1), pb.argmax(axis=1)
    conf_a, conf_b = pa.max(axis=1), pb.max(axis=1)
    rows = np.flatnonzero(label_a != label_b)
    order = rows[np.argsort(-np.maximum(conf_a[rows], conf_b[rows]), kind="stable")][:top]
    return [
        {
            "line": int(lines[i]),
            "text": texts[i],
            "gold": SENTIMENT_LABELS[int(y[i])],
            "a": {"label": SENTIMENT_LABELS[int(label_a[i])], "confidence": round(float(conf_a[i]), 4)},
            "b": {"label": SENTIMENT_LABELS[int(label_b[i])], "confidence": round(float(conf_b[i]), 4)},
        }
        for i in order
    ]


def compare_scores(
    y: np.ndarray, a: ModelScores, b: ModelScores, texts: Sequence[str], lines: Sequence[int],
    n_boot: int = 1000, top: int = 20, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The comparison of two models' probabilities against gold labels ``y`` (indices into SENTIMENT_LABELS).

    Rows either model refused are left out of every number (and counted in ``rows_refused``)."""
    ok = a.ok & b.ok
    y, pa, pb = np.asarray(y)[ok], a.probs[ok], b.probs[ok]
    kept = np.flatnonzero(ok)
    texts, lines = [texts[int(i)] for i in kept], [lines[int(i)] for i in kept]
    right_a, right_b = pa.argmax(axis=1) == y, pb.argmax(axis=1) == y
    return {
        "rows": int(ok.sum()),
        "rows_refused": int((~ok).sum()),
        "models": {
            "a": {"path": a.path, "model": a.model, **_model_metrics(y, pa)},
            "b": {"path": b.path, "model": b.model, **_model_metrics(y, pb)},
        },
        "difference_b_minus_a": _differences(y, pa, pb, n_boot, seed),
        "bootstrap": {"resamples": n_boot, "seed": seed, "interval": "95% paired percentile"},
        "agreement": float((pa.argmax(axis=1) == pb.argmax(axis=1)).mean()),
        "outcomes": {
            "both_right": int((right_a & right_b).sum()),
            "only_a_right": int((right_a & ~right_b).sum()),
            "only_b_right": int((~right_a & right_b).sum()),
            "both_wrong": int((~right_a & ~right_b).sum()),
        },
        "disagreements": _disagreements(pa, pb, y, texts, lines, top),
    }


def _cell(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= MD_TEXT_CHARS else text[: MD_TEXT_CHARS - 1] + "…"


def _interval(d: dict[str, Any]) -> str:
    if d["ci95_low"] is None:
        return "n/a"
    return f"[{d['ci95_low']:+.4f}, {d['ci95_high']:+.4f}]"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the metric table, agreement, the most confident disagreements."""
    a, b = report["models"]["a"], report["models"]["b"]
    diff = report["difference_b_minus_a"]
    lines = [
        "# affectlens compare", "",
        f"Data: `{report['data']['path']}`, {report['rows']} rows (mode: {report['mode']}).",
        f"- A: `{a['path']}` ({a['model']})", f"- B: `{b['path']}` ({b['model']})", "",
        f"| metric | A | B | B - A | 95% interval ({report['bootstrap']['resamples']} paired resamples) |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for key, title in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("ece", "ECE (lower is better)")):
        lines.append(f"| {title} | {a[key]:.4f} | {b[key]:.4f} | {diff[key]['diff']:+.4f} | {_interval(diff[key])} |")
    for name in SENTIMENT_LABELS:
        fa, fb = a["per_class_f1"][name], b["per_class_f1"][name]
        lines.append(f"| F1 {name} (n={a['support'][name]}) | {fa:.4f} | {fb:.4f} | {fb - fa:+.4f} | |")
    o = report["outcomes"]
    lines += [
        "", f"Agreement: {report['agreement']:.4f} (both right {o['both_right']}, only A right {o['only_a_right']}, "
        f"only B right {o['only_b_right']}, both wrong {o['both_wrong']}).",
    ]  # fmt: skip
    if report["disagreements"]:
        lines += ["", "## Most confident disagreements", "", "| line | text | gold | A | B |", "|---|---|---|---|---|"]
        for row in report["disagreements"]:
            ra, rb = row["a"], row["b"]
            lines.append(f"| {row['line']} | {_cell(row['text'])} | {row['gold']} | {ra['label']} "
                         f"{ra['confidence']:.2f} | {rb['label']} {rb['confidence']:.2f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.bootstrap < 0 or args.top < 0:
        raise ConfigError("--bootstrap and --top must be 0 or more")
    started = time.perf_counter()
    model_a, model_b = resolve_model(args.model_a), resolve_model(args.model_b)
    data = read_labelled(
        args.data, args.text_field, args.label_field, SENTIMENT_LABELS,
        label_source="the sentiment labels the models predict",
    )  # fmt: skip
    options = EngineOptions.from_args(args)
    a = score_model(data.texts, model_a, options, "A")
    b = score_model(data.texts, model_b, options, "B")
    report: dict[str, Any] = {"data": summary_of(data), "mode": options.mode}
    report.update(compare_scores(data.label_ids, a, b, data.texts, data.lines, args.bootstrap, args.top, args.seed))
    report["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(report)
    (out / "compare.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"affectlens compare: written to {out}/ (compare.json, compare.md)", file=sys.stderr)
    return 0


def register_command(sub: Any, name: str, help_text: str) -> None:
    """Add ``affectlens compare`` (called by :mod:`affectlens.cli`)."""
    p = sub.add_parser(
        name, help=help_text, description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="The engine flags (--neural-only, --lexicon-only, --no-parser, ...) apply to both models.",
    )  # fmt: skip
    p.add_argument("data", metavar="DATA", help="labelled JSONL/CSV/TSV/Parquet file or Label Studio JSON export")
    p.add_argument("--model-a", default=None, metavar="DIR", help="model folder A (default / omitted: the shipped one)")
    p.add_argument("--model-b", default=None, metavar="DIR", help="model folder B (default / omitted: the shipped one)")
    p.add_argument("--text-field", default="text", help="field or column with the text (default: text)")
    p.add_argument("--label-field", default="label", help="field or column with the sentiment label (default: label)")
    p.add_argument("-o", "--output", default="reports/compare", metavar="DIR", help="folder for compare.json/.md")
    p.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples (0 = no intervals)")
    p.add_argument("--top", type=int, default=20, help="most confident disagreements to list (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    add_engine_arguments(p, model=False, explain=False)
    p.set_defaults(func=run)
