"""Domain adaptation: fine-tune the shipped network on a user's sentiment labels, keeping its other heads.

Starts from the shipped weights (``affectlens/default_model/hf``: encoder, sentiment, emotion and irony rows).
Loss per batch: class-balanced cross-entropy on the 3 sentiment logits against the user's labels, plus
self-distillation of the emotion and irony logits: their targets are the *starting* network's own sigmoid
outputs on the same texts, so adapting to earnings headlines does not teach the emotion head to forget.
Validation macro-F1 after every epoch; the best epoch is kept (early stopping after ``patience`` epochs
without a gain).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affectlens.export.network import load_base_model
from affectlens.export.train import length_grouped_batches, seed_everything
from affectlens.export.validation import predict_logits

from affectlens.errors import ConfigError
from affectlens.labels import NUM_SENTIMENT

__all__ = ["AdaptTrainConfig", "fine_tune"]

log = logging.getLogger("affectlens.adapt")


@dataclass(frozen=True)
class AdaptTrainConfig:
    base: str  # HF folder with our heads (the shipped hf/ weights, or an earlier adapted checkpoint)
    output_dir: str  # the best epoch's checkpoint goes to output_dir/best
    learning_rate: float = 4e-5
    max_epochs: int = 4
    patience: int = 1  # epochs without a validation gain before stopping
    batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    distill_weight: float = 1.0  # weight of the emotion/irony self-distillation loss
    seed: int = 13
    threads: int = 0  # torch intra-op threads; 0 = torch's default
    validate_every_epoch: bool = True  # False: a fixed number of epochs, validated (and saved) once at the end

    def __post_init__(self) -> None:
        if self.learning_rate <= 0 or self.max_epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ConfigError("learning_rate must be > 0 and max_epochs, batch_size, patience >= 1")


def _class_weights(y: np.ndarray) -> np.ndarray:
    counts = np.maximum(np.bincount(y, minlength=NUM_SENTIMENT).astype(float), 1.0)
    present = np.bincount(y, minlength=NUM_SENTIMENT) > 0
    weights = counts.sum() / (present.sum() * counts)
    return np.where(present, weights, 0.0)


def fine_tune(
    train_texts: Sequence[str],
    train_y: Sequence[int],
    val_texts: Sequence[str],
    val_y: Sequence[int],
    cfg: AdaptTrainConfig,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train; returns ``{"best_epoch", "best_macro_f1", "history", "checkpoint", "seconds"}``."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from affectlens.evaluation.metrics import macro_f1
    from affectlens.input_forms import input_form

    start = time.perf_counter()
    seed_everything(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tokenizer = AutoTokenizer.from_pretrained(cfg.base)
    model = load_base_model(cfg.base)
    form_name = getattr(model.config, "affectlens_input_form", None)
    form = input_form(form_name)
    y = np.asarray(train_y, dtype=np.int64)
    teacher = predict_logits(model, tokenizer, train_texts, cfg.max_length, form=form_name)[:, NUM_SENTIMENT:]
    soft = torch.from_numpy(1.0 / (1.0 + np.exp(-teacher))).float()  # emotions (+ irony) of the start point
    texts = [form(t) for t in train_texts]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"]]
    weights = torch.tensor(_class_weights(y), dtype=torch.float32)
    steps_per_epoch = math.ceil(len(texts) / cfg.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    total = steps_per_epoch * cfg.max_epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    rng = random.Random(cfg.seed)
    out = Path(cfg.output_dir)
    best: dict[str, Any] = {"best_epoch": 0, "best_macro_f1": -1.0}
    history: list[dict[str, Any]] = []
    val_labels = np.asarray(val_y, dtype=int)
    model.train()
    for epoch in range(1, cfg.max_epochs + 1):
        losses = []
        for batch in length_grouped_batches(lengths, cfg.batch_size, rng):
            enc = tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt"
            )
            logits = model(**enc).logits
            loss = F.cross_entropy(logits[:, :NUM_SENTIMENT], torch.from_numpy(y[batch]), weight=weights)
            if cfg.distill_weight:
                loss = loss + cfg.distill_weight * F.binary_cross_entropy_with_logits(
                    logits[:, NUM_SENTIMENT:], soft[batch]
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.item()))
        if not cfg.validate_every_epoch and epoch < cfg.max_epochs:
            continue
        val_logits = predict_logits(model, tokenizer, val_texts, cfg.max_length, form=form_name)
        pred = val_logits[:, :NUM_SENTIMENT].argmax(axis=1)
        score = macro_f1(val_labels, pred, NUM_SENTIMENT)
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_macro_f1": score,
            "val_accuracy": float((pred == val_labels).mean()),
            "seconds": round(time.perf_counter() - start, 1),
        }
        history.append(row)
        if on_epoch is not None:
            on_epoch({**row, "learning_rate": cfg.learning_rate})
        if score > best["best_macro_f1"]:
            best = {"best_epoch": epoch, "best_macro_f1": score}
            model.save_pretrained(out / "best")
            tokenizer.save_pretrained(out / "best")
        elif epoch - best["best_epoch"] >= cfg.patience:
            break
    summary = {
        **best,
        "history": history,
        "checkpoint": str(out / "best"),
        "config": asdict(cfg),
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / "adapt_run.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
