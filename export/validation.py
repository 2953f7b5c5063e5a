"""Validation during fine-tuning: logits for the validation sets and the metrics checkpoint selection maximises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from affectlens.datasets import LabeledText
from affectlens.input_forms import input_form
from affectlens.labels import EMOTION_LABELS, EMOTION_SLICE, IRONY_INDEX, NUM_SENTIMENT

__all__ = ["predict_logits", "validation_metrics"]


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
