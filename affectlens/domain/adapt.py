"""``affectlens adapt``: fine-tune the shipped model on a user's labelled sentences; a complete model folder.

1. Read TRAIN (JSONL / CSV / TSV / Parquet / a Label Studio JSON export) and the validation rows (``--validation``,
   else a stratified, seeded share of TRAIN); labels are the sentiment labels negative / neutral / positive.
2. A small search: one fine-tune per learning rate, from the shipped weights (``affectlens/default_model/hf``),
   each stopped early on validation macro-F1 (so the number of epochs is searched too); class-balanced loss;
   the emotion and irony heads keep the starting network's outputs (``affectlens.export.adapt_train``).
3. The best run is exported (int8; fp16 with ``--fp16``) and calibrated on the validation rows (temperature and
   stacker; the shipped emotion calibration is kept), its weights kept in ``hf/`` (adapt again from DIR).
4. ``adapt_report.json`` and ``MODEL_CARD.md``: the data, the search, and validation metrics of the adapted and
   the shipped model on the same rows. Each search run is an MLflow run.

DIR is written whole or not at all: everything is built in ``DIR.partial`` and renamed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.errors import AffectlensError
from affectlens.labels import SENTIMENT_LABELS

__all__ = ["AdaptConfig", "AdaptError", "adapt", "register_command"]

DEFAULT_LEARNING_RATES = (3e-5, 6e-5)
DEFAULT_MAX_EPOCHS = 4
VALIDATION_SHARE = 0.2


class AdaptError(AffectlensError):
    code = "adapt_failed"


@dataclass(frozen=True)
class AdaptConfig:
    train: str
    output_dir: str
    text_field: str = "text"
    label_field: str = "label"
    validation: str | None = None
    labels: tuple[str, ...] | None = None
    base: str | None = None  # HF folder; None: the shipped weights
    learning_rates: tuple[float, ...] = DEFAULT_LEARNING_RATES
    max_epochs: int = DEFAULT_MAX_EPOCHS
    patience: int = 1
    validation_share: float = VALIDATION_SHARE
    fp16: bool = False
    name: str = "affectlens-adapted"
    version: str = "0.1.0"
    seed: int = 13
    threads: int = 0
    mlflow: bool = True
    overwrite: bool = False


def _log(message: str) -> None:
    print(f"adapt: {message}", file=sys.stderr, flush=True)


def stratified_split(labels: list[int], share: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, validation) row indices: ``share`` of each class in validation (at least one per class)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in sorted(set(labels)):
        rows = [i for i, y in enumerate(labels) if y == cls]
        rng.shuffle(rows)
        k = max(1, round(share * len(rows))) if len(rows) > 1 else 0
        val += rows[:k]
        train += rows[k:]
    return sorted(train), sorted(val)


def _read(cfg: AdaptConfig) -> tuple[list[str], list[int], list[str], list[int], dict[str, Any]]:
    from affectlens.domain.labelled import read_labelled

    labels = cfg.labels or SENTIMENT_LABELS
    if set(labels) - set(SENTIMENT_LABELS):
        raise AdaptError(
            f"--labels {','.join(labels)}: adapt trains the sentiment head, so the labels must be among "
            f"{', '.join(SENTIMENT_LABELS)} (a label set of your own is not supported yet)"
        )
    data = read_labelled(cfg.train, cfg.text_field, cfg.label_field, tuple(labels))
    index = {name: SENTIMENT_LABELS.index(name) for name in SENTIMENT_LABELS}
    y = [index[label] for label in data.labels]
    if cfg.validation:
        val = read_labelled(cfg.validation, cfg.text_field, cfg.label_field, tuple(labels))
        train_texts, train_y = list(data.texts), y
        val_texts, val_y = list(val.texts), [index[label] for label in val.labels]
        source = cfg.validation
    else:
        tr, va = stratified_split(y, cfg.validation_share, cfg.seed)
        train_texts, train_y = [data.texts[i] for i in tr], [y[i] for i in tr]
        val_texts, val_y = [data.texts[i] for i in va], [y[i] for i in va]
        source = f"{cfg.validation_share:.0%} of {cfg.train} (stratified, seed {cfg.seed})"
    info = {
        "train": cfg.train,
        "train_rows": len(train_texts),
        "validation": source,
        "validation_rows": len(val_texts),
        "label_counts": {n: int(np.sum(np.array(train_y) == i)) for n, i in index.items()},
        "skipped": dict(data.skipped),
    }
    return train_texts, train_y, val_texts, val_y, info


def _search(cfg: AdaptConfig, work: Path, data: tuple[Any, ...]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from affectlens.export.adapt_train import AdaptTrainConfig, fine_tune

    train_texts, train_y, val_texts, val_y = data
    base = cfg.base or str(_shipped_weights())
    runs = []
    for lr in cfg.learning_rates:
        _log(f"fine-tuning from {base} at learning rate {lr:g} (up to {cfg.max_epochs} epochs)")
        tc = AdaptTrainConfig(
            base=base,
            output_dir=str(work / f"search-lr{lr:g}"),
            learning_rate=lr,
            max_epochs=cfg.max_epochs,
            patience=cfg.patience,
            seed=cfg.seed,
            threads=cfg.threads,
        )
        with _tracked(cfg, f"adapt lr={lr:g}", asdict(tc)) as run:

            def on_epoch(row: dict[str, Any], run: Any = run) -> None:
                _log(f"  epoch {row['epoch']}: validation macro-F1 {row['val_macro_f1']:.4f} ({row['seconds']} s)")
                if run is not None:
                    run.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=row["epoch"])

            runs.append(fine_tune(train_texts, train_y, val_texts, val_y, tc, on_epoch))
    best = max(runs, key=lambda r: r["best_macro_f1"])
    return best, runs


class _NoRun:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _tracked(cfg: AdaptConfig, name: str, params: dict[str, Any]) -> Any:
    if not cfg.mlflow:
        return _NoRun()
    from affectlens.tracking import start_run

    return start_run(Path(cfg.output_dir).resolve().parent, run_name=name, params=params)


def _shipped_weights() -> Path:
    from affectlens.engine import default_model_dir

    path = default_model_dir() / "hf"
    if not (path / "model.safetensors").is_file():
        raise AdaptError(f"{path} has no weights: reinstall affectlens (the package ships them) or pass --base")
    return path


def _export_and_calibrate(cfg: AdaptConfig, work: Path, best: dict[str, Any], val: tuple[Any, ...]) -> Path:
    from affectlens.calibrate import fit_calibration
    from affectlens.datasets import LabeledText
    from affectlens.engine import default_model_dir
    from affectlens.ensemble import Calibration
    from affectlens.export.onnx_export import ExportConfig, export_model
    from affectlens.export.ship import ship_hf_weights
    from affectlens.lexicons import LexiconConfig, LexiconPipeline
    from affectlens.neural import NeuralConfig, NeuralModel

    model_dir = work / "model"
    checkpoint = Path(best["checkpoint"])
    _log(f"exporting {checkpoint} (int8{' + fp16' if cfg.fp16 else ''})")
    export_model(
        ExportConfig(
            checkpoint=str(checkpoint),
            output_dir=str(model_dir),
            name=cfg.name,
            version=cfg.version,
            fp16=cfg.fp16,
            calibration_file=str(work / "texts.jsonl"),
        )
    )
    val_texts, val_y = val
    rows = [LabeledText(text=t, sentiment=y, source="user") for t, y in zip(val_texts, val_y, strict=True)]
    shipped = Calibration.load_optional(default_model_dir())
    _log(f"calibrating on {len(rows)} validation rows")
    neural = NeuralModel(model_dir, NeuralConfig(provider="cpu"))
    calibration = fit_calibration(rows, neural, LexiconPipeline(LexiconConfig()), fallback=shipped)
    calibration.save(model_dir)
    ship_hf_weights(checkpoint, model_dir / "hf")
    return model_dir


def _validation_metrics(model_dirs: dict[str, Path | None], texts: list[str], y: list[int]) -> dict[str, Any]:
    from affectlens.engine import Engine, EngineConfig
    from affectlens.evaluation.metrics import expected_calibration_error, macro_f1, per_class_prf

    out: dict[str, Any] = {}
    for name, folder in model_dirs.items():
        engine = Engine(EngineConfig(model_dir=str(folder) if folder else None))
        preds = [r.to_dict() for r in engine.score_batch(texts)]
        probs = np.array([[p["scores"][n] for n in SENTIMENT_LABELS] for p in preds])
        pred = probs.argmax(axis=1)
        f1 = per_class_prf(y, pred, len(SENTIMENT_LABELS))["f1"]
        out[name] = {
            "macro_f1": round(macro_f1(y, pred, 3), 4),
            "accuracy": round(float((pred == y).mean()), 4),
            "ece": round(expected_calibration_error(probs, y), 4),
            "f1": {n: round(float(f), 4) for n, f in zip(SENTIMENT_LABELS, f1, strict=True)},
        }
    return out


def adapt(cfg: AdaptConfig) -> dict[str, Any]:
    """Run the whole adaptation (see the module docstring); returns the report written to DIR."""
    start = time.perf_counter()
    target = Path(cfg.output_dir)
    if target.exists() and any(target.iterdir()) and not cfg.overwrite:
        raise AdaptError(f"{target} exists and is not empty: choose another -o or pass --overwrite")
    if cfg.base and not (Path(cfg.base) / "config.json").is_file():
        raise AdaptError(f"--base {cfg.base}: not a Hugging Face model folder (no config.json)")
    train_texts, train_y, val_texts, val_y, data_info = _read(cfg)
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with (work / "texts.jsonl").open("w", encoding="utf-8") as f:  # activation ranges for int8
            f.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in train_texts)
        best, runs = _search(cfg, work, (train_texts, train_y, val_texts, val_y))
        model_dir = _export_and_calibrate(cfg, work, best, (val_texts, val_y))
        metrics = _validation_metrics({"adapted": model_dir, "shipped": None}, val_texts, val_y)
        report = {
            "model": {"name": cfg.name, "version": cfg.version},
            "data": data_info,
            "search": [
                {
                    "learning_rate": r["config"]["learning_rate"],
                    "best_epoch": r["best_epoch"],
                    "best_macro_f1": round(r["best_macro_f1"], 4),
                    "epochs_run": len(r["history"]),
                    "seconds": r["seconds"],
                }
                for r in runs
            ],
            "chosen": {"learning_rate": best["config"]["learning_rate"], "epochs": best["best_epoch"]},
            "validation": metrics,
            "seconds": round(time.perf_counter() - start, 1),
        }
        (model_dir / "adapt_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (model_dir / "MODEL_CARD.md").write_text(model_card(report), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(model_dir, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def model_card(report: dict[str, Any]) -> str:
    data, val = report["data"], report["validation"]
    lines = [
        f"# {report['model']['name']} {report['model']['version']} (adapted with `affectlens adapt`)",
        "",
        f"Fine-tuned from the shipped affectlens model on {data['train_rows']} rows of `{data['train']}`; "
        f"validated on {data['validation_rows']} rows ({data['validation']}). Labels: "
        + ", ".join(f"{k} {v}" for k, v in data["label_counts"].items())
        + ".",
        "",
        "## Search (validation macro-F1 of the network, best epoch per learning rate)",
        "",
        "| learning rate | best epoch | epochs run | macro-F1 | seconds |",
        "|---|---|---|---|---|",
        *(
            f"| {r['learning_rate']:g} | {r['best_epoch']} | {r['epochs_run']} | {r['best_macro_f1']:.4f} | "
            f"{r['seconds']} |"
            for r in report["search"]
        ),
        "",
        "## Validation (calibrated hybrid, same rows)",
        "",
        "| model | macro-F1 | accuracy | ECE |",
        "|---|---|---|---|",
        *(f"| {name} | {m['macro_f1']:.4f} | {m['accuracy']:.4f} | {m['ece']:.4f} |" for name, m in val.items()),
        "",
        "The validation rows chose the epoch and the learning rate and fitted the calibration: keep a test file of "
        "your own for an unbiased figure (`affectlens compare --model-a default --model-b DIR TEST ...`).",
        "",
    ]
    return "\n".join(lines)


def register_command(sub: Any, name: str, help_text: str) -> None:
    """Add ``affectlens adapt`` (called by :mod:`affectlens.cli`)."""
    p = sub.add_parser(name, help=help_text, description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("train", metavar="TRAIN", help="labelled rows: JSONL / CSV / TSV / Parquet / Label Studio JSON")
    p.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="the model folder to write")
    p.add_argument("--text-field", default="text")
    p.add_argument("--label-field", default="label")
    p.add_argument(
        "--validation",
        default=None,
        metavar="FILE",
        help=f"validation rows (default: a stratified {VALIDATION_SHARE:.0%} of TRAIN)",
    )
    p.add_argument("--labels", default=None, help="comma-separated label set (default: negative,neutral,positive)")
    p.add_argument(
        "--learning-rates",
        default=",".join(f"{x:g}" for x in DEFAULT_LEARNING_RATES),
        help="the learning rates searched (comma-separated)",
    )
    p.add_argument("--max-epochs", type=int, default=DEFAULT_MAX_EPOCHS, help="per learning rate (early stopping)")
    p.add_argument("--base", default=None, help="HF weights to start from (default: the shipped model's hf/)")
    p.add_argument("--fp16", action="store_true", help="also build the fp16 (GPU) graph")
    p.add_argument("--name", default="affectlens-adapted")
    p.add_argument("--version", default="0.1.0")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        rates = tuple(float(x) for x in args.learning_rates.split(",") if x.strip())
    except ValueError:
        raise AdaptError(f"--learning-rates must be numbers, e.g. 3e-5,6e-5, not {args.learning_rates!r}") from None
    cfg = AdaptConfig(
        train=args.train,
        output_dir=args.output_dir,
        text_field=args.text_field,
        label_field=args.label_field,
        validation=args.validation,
        labels=tuple(x.strip() for x in args.labels.split(",")) if args.labels else None,
        base=args.base,
        learning_rates=rates,
        max_epochs=args.max_epochs,
        fp16=args.fp16,
        name=args.name,
        version=args.version,
        seed=args.seed,
        threads=args.threads,
        mlflow=not args.no_mlflow,
        overwrite=args.overwrite,
    )
    report = adapt(cfg)
    print(json.dumps(report, indent=2))
    return 0
