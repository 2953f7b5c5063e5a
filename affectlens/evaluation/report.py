"""``affectlens evaluate``: ablation table, calibration, slices, faithfulness; JSON + Markdown + PNG report.

Every affectlens number comes from ``Engine.score_batch`` (the serving code) in each mode:
lexicon-only, neural-only (raw softmax, i.e. uncalibrated, and temperature-calibrated) and hybrid.
Reference baselines: stock VADER and TF-IDF + logistic regression trained on the same train split.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.datasets import NAMED_DATASETS, LabeledText, load_named, read_table
from affectlens.evaluation import metrics as M
from affectlens.evaluation.baselines import stock_vader, tfidf_baseline
from affectlens.labels import EMOTION_LABELS, EMOTION_SLICE, SENTIMENT_LABELS
from affectlens.schema import Prediction

log = logging.getLogger("affectlens.evaluate")

VAL_SPLITS = {
    "tweeteval-sentiment": ("train", "val"),
    "goemotions": ("train", "dev"),
    "sst2": ("train", "validation"),
    "financial-phrasebank": ("train", "validation"),
    "goemotions-sentiment": ("train", "dev"),
    "tweeteval-emotion-polarity": ("train", "val"),
}


def sentiment_metrics(probs: np.ndarray, y: np.ndarray, polarity_only: bool = False) -> dict[str, Any]:
    """All sentiment metrics for probabilities (n, 3) against labels; polarity-only data uses neg vs pos."""
    if polarity_only:
        pred = M.polarity_decisions(probs)
        pair = probs[:, [0, 2]] / np.clip(probs[:, [0, 2]].sum(axis=1, keepdims=True), 1e-12, None)
        y2 = (y == 2).astype(int)
        return {
            "n": len(y),
            "polarity_accuracy": float((pred == y).mean()),
            "macro_f1": M.macro_f1(y2, (pred == 2).astype(int), 2),
            "ece_binary": M.expected_calibration_error(pair, y2),
            "neutral_rate": float((probs.argmax(1) == 1).mean()),
        }
    pred = probs.argmax(axis=1)
    prf = M.per_class_prf(y, pred, 3)
    return {
        "n": len(y),
        "accuracy": float((pred == y).mean()),
        "macro_f1": M.macro_f1(y, pred, 3),
        "macro_recall": M.macro_recall(y, pred, 3),
        "ece": M.expected_calibration_error(probs, y),
        "brier": M.brier_score(probs, y),
        "nll": M.log_loss(probs, y),
        "per_class": {
            SENTIMENT_LABELS[k]: {m: float(prf[m][k]) for m in ("precision", "recall", "f1", "support")}
            for k in range(3)
        },
        "confusion_matrix": M.confusion_matrix(y, pred, 3).tolist(),
    }


def emotion_metrics(probs: np.ndarray, predicted: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    f1 = M.multilabel_f1(y, predicted)
    return {
        "n": len(y),
        "macro_f1": float(f1.mean()),
        "micro_f1": M.multilabel_micro_f1(y, predicted),
        "brier": float(((probs - y) ** 2).mean()),
        "ece_per_label_mean": float(
            np.mean(
                [
                    M.expected_calibration_error(np.stack([1 - probs[:, k], probs[:, k]], 1), y[:, k])
                    for k in range(y.shape[1])
                ]
            )
        ),
        "per_label_f1": {EMOTION_LABELS[k]: float(f1[k]) for k in range(len(f1))},
    }


def bootstrap_diff(
    y: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float],
    n: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """metric(a) - metric(b) with a 95% paired bootstrap interval."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        diffs.append(metric(y[idx], pred_a[idx]) - metric(y[idx], pred_b[idx]))
    return {
        "diff": metric(y, pred_a) - metric(y, pred_b),
        "ci95_low": float(np.percentile(diffs, 2.5)),
        "ci95_high": float(np.percentile(diffs, 97.5)),
    }


def paired_differences(
    y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n: int, polarity_only: bool = False
) -> dict[str, Any]:
    """Accuracy, macro recall and macro-F1 of a minus b, each with a 95% paired bootstrap interval (polarity-only
    data: polarity accuracy and the binary macro-F1)."""
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]]
    if polarity_only:
        metrics = {
            "polarity_accuracy": lambda t, p: float((t == p).mean()),
            "macro_f1": lambda t, p: M.macro_f1((t == 2).astype(int), (p == 2).astype(int), 2),
        }
    else:
        metrics = {
            "accuracy": lambda t, p: float((t == p).mean()),
            "macro_recall": lambda t, p: M.macro_recall(t, p, 3),
            "macro_f1": lambda t, p: M.macro_f1(t, p, 3),
        }
    return {name: bootstrap_diff(y, pred_a, pred_b, metric, n) for name, metric in metrics.items()}


def _probs(results: Sequence[Any]) -> np.ndarray:
    return np.array([[r.scores[label] for label in SENTIMENT_LABELS] for r in results])


def _raw_neural(results: Sequence[Prediction]) -> np.ndarray:
    return np.array([[r.components["neural"]["scores"][label] for label in SENTIMENT_LABELS] for r in results])


CONTRAST = re.compile(r"\b(but|however|although|though|yet|whereas|nevertheless)\b", re.IGNORECASE)


def slices(results: Sequence[Prediction], texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Named row masks: negation or emoji (by the lexicon's own evidence) or a contrast word; emoji alone."""
    neg, emoji = [], []
    for r in results:
        lex = r.components.get("lexicon") or {}
        neg.append((lex.get("negation") or {}).get("cues", 0) > 0)
        emoji.append((lex.get("emoji") or {}).get("count", 0) > 0)
    contrast = [bool(CONTRAST.search(text)) for text in texts]
    return {
        "negation_contrast_emoji": np.array(neg) | np.array(emoji) | np.array(contrast),
        "emoji": np.array(emoji, dtype=bool),
    }


SLICE_TITLES = {"negation_contrast_emoji": "negation, contrast or emoji", "emoji": "emoji"}


def faithfulness(
    engine: Any, texts: Sequence[str], fractions: Sequence[float] = (0.1, 0.2, 0.5), seed: int = 0
) -> dict[str, Any]:
    """ERASER comprehensiveness and sufficiency (averaged over ``fractions``), vs random tokens."""
    rng = np.random.default_rng(seed)
    results = zip(texts, engine.score_batch(list(texts), explain=True), strict=True)
    explained = [(t, r) for t, r in results if isinstance(r, Prediction)]  # a failed text goes with its result
    variants: list[str] = []
    index: list[tuple[int, str, str]] = []
    for i, (text, r) in enumerate(explained):
        tokens = list(r.tokens or ())
        if len(tokens) < 2:
            continue
        attr = np.array([t.attribution if t.attribution is not None else 0.0 for t in tokens])
        for fraction in fractions:
            k = max(1, round(fraction * len(tokens)))
            for kind, chosen in (
                ("model", set(np.argsort(-attr)[:k])),
                ("random", set(rng.permutation(len(tokens))[:k])),
            ):
                removed = (
                    "".join(
                        text[tokens[j - 1].end if j else 0 : t.start] + ("" if j in chosen else t.text)
                        for j, t in enumerate(tokens)
                    ).strip()
                    or "."
                )
                kept = " ".join(t.text for j, t in enumerate(tokens) if j in chosen)
                variants += [removed, kept]
                index += [(i, kind, "comprehensiveness"), (i, kind, "sufficiency")]
    scored = engine.score_batch(variants)
    sums: dict[tuple[str, str], list[float]] = {}
    for (i, kind, measure), result in zip(index, scored, strict=True):
        if not isinstance(result, Prediction):
            continue
        full = explained[i][1]
        p_full = full.scores[full.label]
        sums.setdefault((kind, measure), []).append(p_full - result.scores[full.label])
    out: dict[str, Any] = {f"{measure}_{kind}": float(np.mean(v)) for (kind, measure), v in sums.items()}
    out["texts"] = len(explained)
    out["fractions"] = list(fractions)
    return out


def evaluate_sentiment(
    name: str, rows: list[LabeledText], engines: dict[str, Any], train: list[LabeledText] | None, bootstrap: int
) -> dict[str, Any]:
    texts = [r.text for r in rows]
    y = np.array([r.sentiment for r in rows])
    polarity_only = rows[0].polarity_only
    results = {mode: engine.score_batch(texts) for mode, engine in engines.items()}
    systems: dict[str, np.ndarray] = {mode: _probs(res) for mode, res in results.items()}
    if "neural" in results:
        systems["neural-uncalibrated"] = _raw_neural(results["neural"])
    systems["vader-stock"] = stock_vader(texts)
    if train is not None:
        three_class = [r for r in train if not r.polarity_only] or train
        systems["tfidf-logreg"] = tfidf_baseline(three_class, texts, polarity_only)
    table = {system: sentiment_metrics(p, y, polarity_only) for system, p in systems.items()}
    out: dict[str, Any] = {"dataset": name, "n": len(rows), "polarity_only": polarity_only, "systems": table}
    if "hybrid" in systems and "neural-uncalibrated" in systems:
        decide = M.polarity_decisions if polarity_only else (lambda p: p.argmax(1))
        hyb, neu = decide(systems["hybrid"]), decide(systems["neural-uncalibrated"])
        out["hybrid_minus_neural"] = paired_differences(y, hyb, neu, bootstrap, polarity_only)
        for slice_name, mask in slices(results["hybrid"], texts).items():
            if mask.sum() < 20:  # too few rows for a meaningful metric (TweetEval has no emoji at all)
                continue
            out[f"slice_{slice_name}"] = {
                "n": int(mask.sum()),
                "systems": {
                    s: sentiment_metrics(systems[s][mask], y[mask], polarity_only)
                    for s in ("hybrid", "neural", "neural-uncalibrated", "lexicon")
                    if s in systems
                },
                "hybrid_minus_neural": paired_differences(y[mask], hyb[mask], neu[mask], bootstrap, polarity_only),
            }
    out["_probs"] = systems
    out["_y"] = y
    return out


def evaluate_emotions(rows: list[LabeledText], engines: dict[str, Any]) -> dict[str, Any]:
    texts = [r.text for r in rows]
    y = np.zeros((len(rows), len(EMOTION_LABELS)), dtype=int)
    for i, r in enumerate(rows):
        y[i, list(r.emotions or ())] = 1
    out: dict[str, Any] = {"dataset": "goemotions", "n": len(rows), "systems": {}}
    for mode, engine in engines.items():
        results = engine.score_batch(texts)
        probs = np.array([[r.emotions[e] for e in EMOTION_LABELS] for r in results])
        predicted = np.array([[e in r.emotions_predicted for e in EMOTION_LABELS] for r in results])
        out["systems"][mode] = emotion_metrics(probs, predicted, y)
        if mode == "neural":  # reference: raw sigmoid outputs at the usual 0.5 threshold, no calibration
            raw = 1.0 / (1.0 + np.exp(-engine.neural.logits(texts)[:, EMOTION_SLICE]))
            out["systems"]["neural-uncalibrated@0.5"] = emotion_metrics(raw, raw >= 0.5, y)
    return out


def write_plots(report_dir: Path, name: str, probs: dict[str, np.ndarray], y: np.ndarray) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib not installed: no plots (pip install 'affectlens[train]')")
        return []
    written = []
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k:", label="perfect")
    for system in ("neural-uncalibrated", "neural", "hybrid"):
        if system in probs:
            bins = [b for b in M.reliability_bins(probs[system], y) if b["count"] > 0]
            ece = M.expected_calibration_error(probs[system], y)
            ax.plot(
                [b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label=f"{system} (ECE {ece:.3f})"
            )
    ax.set(xlabel="confidence", ylabel="accuracy", title=f"Reliability: {name}", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    path = report_dir / f"reliability_{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(path.name)
    if "hybrid" in probs:
        cm = M.confusion_matrix(y, probs["hybrid"].argmax(1), 3)
        fig, ax = plt.subplots(figsize=(4.2, 4))
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set(
            xticks=range(3),
            yticks=range(3),
            xticklabels=SENTIMENT_LABELS,
            yticklabels=SENTIMENT_LABELS,
            xlabel="predicted",
            ylabel="true",
            title=f"Hybrid confusion: {name}",
        )
        path = report_dir / f"confusion_{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path.name)
    return written


def _difference_lines(differences: dict[str, Any], where: str) -> list[str]:
    lines = ["", f"Hybrid minus neural (uncalibrated){where}, 95% paired bootstrap:"]
    for metric, d in differences.items():
        lines.append(f"- {metric}: {d['diff']:+.4f} [{d['ci95_low']:+.4f}, {d['ci95_high']:+.4f}]")
    return lines


def _system_table(systems: dict[str, dict[str, Any]], polarity_only: bool, slice_only: bool = False) -> list[str]:
    """A Markdown table of sentiment metrics per system (a slice's table leaves out Brier and NLL)."""
    if polarity_only:
        lines = ["| system | polarity accuracy | macro-F1 | ECE (neg vs pos) |", "|---|---:|---:|---:|"]
        for s, m in systems.items():
            lines.append(f"| {s} | {m['polarity_accuracy']:.4f} | {m['macro_f1']:.4f} | {m['ece_binary']:.4f} |")
        return lines
    if slice_only:
        lines = ["| system | accuracy | macro-F1 | macro recall | ECE |", "|---|---:|---:|---:|---:|"]
        for s, m in systems.items():
            lines.append(
                f"| {s} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['macro_recall']:.4f} | {m['ece']:.4f} |"
            )
        return lines
    lines = [
        "| system | accuracy | macro-F1 | macro recall | ECE | Brier | NLL |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s, m in systems.items():
        lines.append(
            f"| {s} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['macro_recall']:.4f} | "
            f"{m['ece']:.4f} | {m['brier']:.4f} | {m['nll']:.4f} |"
        )
    return lines


def markdown_summary(report: dict[str, Any]) -> str:
    lines = ["# affectlens evaluation report", "", f"Model: {report['model']}", ""]
    for res in report["sentiment"]:
        lines += [f"## Sentiment: {res['dataset']} (n={res['n']})", ""]
        lines += _system_table(res["systems"], res["polarity_only"])
        if "hybrid_minus_neural" in res:
            lines += _difference_lines(res["hybrid_minus_neural"], "")
        for slice_name, title in SLICE_TITLES.items():
            if f"slice_{slice_name}" not in res:
                continue
            sl = res[f"slice_{slice_name}"]
            lines += ["", f"Slice with {title} (n={sl['n']}):", ""]
            lines += _system_table(sl["systems"], res["polarity_only"], slice_only=True)
            lines += _difference_lines(sl["hybrid_minus_neural"], " on the slice")
        lines.append("")
    if report.get("emotions"):
        emo = report["emotions"]
        lines += [
            f"## Emotions: goemotions (n={emo['n']})",
            "",
            "| system | macro-F1 | micro-F1 | Brier | mean per-label ECE |",
            "|---|---:|---:|---:|---:|",
        ]
        for s, m in emo["systems"].items():
            cells = [
                f"{m['macro_f1']:.4f}",
                f"{m['micro_f1']:.4f}",
                f"{m['brier']:.5f}",
                f"{m['ece_per_label_mean']:.4f}",
            ]
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines.append("")
    if report.get("faithfulness"):
        f = report["faithfulness"]
        lines += [
            "## Explanation faithfulness (ERASER, hybrid)",
            "",
            f"{f['texts']} texts, token fractions {f['fractions']}. Comprehensiveness: higher is better; "
            "sufficiency: lower is better.",
            "",
            "| tokens | comprehensiveness | sufficiency |",
            "|---|---:|---:|",
            *(
                f"| {name} | {f.get('comprehensiveness_' + kind, float('nan')):.4f} "
                f"| {f.get('sufficiency_' + kind, float('nan')):.4f} |"
                for name, kind in (("attribution top-k", "model"), ("random k", "random"))
            ),
            "",
        ]
    if report.get("behaviour"):
        from affectlens.behaviour.runner import markdown as behaviour_markdown

        lines += [behaviour_markdown(report["behaviour"], heading="##")]
    return "\n".join(lines) + "\n"


def behaviour_section(engines: dict[str, Any], limit_per_test: int) -> dict[str, Any]:
    """The behavioural suite's check half on each mode and on stock VADER (see :mod:`affectlens.behaviour`)."""
    from affectlens.behaviour.runner import run_behaviour, vader_scorer

    systems: dict[str, Any] = {m: engines[m] for m in ("hybrid", "neural", "lexicon") if m in engines}
    systems["vader"] = vader_scorer()
    return run_behaviour(systems, ("check",), limit_per_test=limit_per_test)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from affectlens.config import engine_config_from_args
    from affectlens.engine import Engine

    base = engine_config_from_args(args)
    modes = [m for m in ("lexicon", "neural", "hybrid") if m in args.modes.split(",")]
    engines = {mode: Engine(type(base)(**{**base.__dict__, "mode": mode})) for mode in modes}
    model_name = next((e.model_info for m, e in engines.items() if m != "lexicon"), engines[modes[0]].model_info)
    report: dict[str, Any] = {"model": f"{model_name.name} {model_name.version}", "sentiment": [], "emotions": None}
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    plots: list[str] = []
    datasets: list[tuple[str, list[LabeledText], list[LabeledText] | None]]
    if args.file:
        rows = read_table(args.file, text_field=args.text_field, label_field=args.label_field)
        datasets = [("file", rows, None)]
    else:
        datasets = []
        for name in args.datasets.split(","):
            train_split, val_split = VAL_SPLITS[name]
            rows = load_named(name, args.data_dir, val_split)
            if args.max_rows:
                rows = rows[: args.max_rows]
            datasets.append(
                (
                    name,
                    rows,
                    load_named(name, args.data_dir, train_split) if args.baselines and name != "goemotions" else None,
                )
            )
    for name, rows, train in datasets:
        log.info("evaluating %s (%d rows)", name, len(rows))
        if rows and rows[0].emotions is not None:
            report["emotions"] = evaluate_emotions(rows, {m: e for m, e in engines.items()})
            continue
        res = evaluate_sentiment(name, rows, engines, train, args.bootstrap)
        probs, y = res.pop("_probs"), res.pop("_y")
        if not res["polarity_only"]:
            plots += write_plots(out_dir, name, probs, y)
        report["sentiment"].append(res)
    if args.faithfulness and "hybrid" in engines:
        sample_rows = load_named("tweeteval-sentiment", args.data_dir, "val") if not args.file else datasets[0][1]
        rng = np.random.default_rng(0)
        sample = [sample_rows[i].text for i in rng.permutation(len(sample_rows))[: args.faithfulness]]
        report["faithfulness"] = faithfulness(engines["hybrid"], sample)
    if getattr(args, "behaviour", False):
        log.info("behavioural suite (check half)")
        report["behaviour"] = behaviour_section(engines, args.behaviour_limit)
    report["seconds"] = round(time.time() - started, 1)
    report["plots"] = plots
    (out_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out_dir / "summary.md").write_text(markdown_summary(report), encoding="utf-8")
    return report


def run(args: argparse.Namespace) -> int:
    report = evaluate(args)
    print(markdown_summary(report))
    print(f"report written to {args.output}/ (report.json, summary.md, {', '.join(report['plots']) or 'no plots'})")
    if os.environ.get("MLFLOW_TRACKING_URI"):
        from affectlens.tracking import log_report

        run_id = log_report(args.output, run_name=f"evaluate {args.model or 'default model'}")
        print(f"report logged to MLflow run {run_id}")
    return 0


def register_command(sub: Any, name: str, help_text: str) -> None:
    from affectlens.config import add_engine_arguments

    p = sub.add_parser(name, help=help_text)
    p.add_argument("--data-dir", default="../shared/data", help="folder with the named datasets")
    p.add_argument("--datasets", default=",".join(NAMED_DATASETS), help=f"comma-separated: {', '.join(NAMED_DATASETS)}")
    p.add_argument("--file", default=None, help="evaluate a CSV/TSV/JSONL file instead (sentiment labels)")
    p.add_argument("--text-field", default="text")
    p.add_argument("--label-field", default="label")
    p.add_argument("--modes", default="lexicon,neural,hybrid", help="which affectlens modes to compare")
    p.add_argument("--no-baselines", dest="baselines", action="store_false", help="skip the TF-IDF baseline")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the difference intervals")
    p.add_argument("--faithfulness", type=int, default=200, help="texts for the ERASER faithfulness check (0 = skip)")
    p.add_argument("--max-rows", type=int, default=0, help="cap rows per dataset (0 = all)")
    from affectlens.behaviour.suite import DEFAULT_LIMIT

    p.add_argument(
        "--no-behaviour", dest="behaviour", action="store_false", help="skip the behavioural suite (check half)"
    )
    p.add_argument("--behaviour-limit", type=int, default=DEFAULT_LIMIT, help="behavioural cases (or groups) per test")
    p.add_argument("-o", "--output", default="reports/validation", help="report folder")
    add_engine_arguments(p)
    p.set_defaults(func=run)
