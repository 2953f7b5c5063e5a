"""Label Studio's formats for a single-choice sentiment project: the labeling config, the import file with
pre-annotations, and reading an export back. Pure functions: no server, no SDK.

Shapes checked against a real Label Studio (1.23.2, ``tests/test_label_studio_roundtrip.py``):

- import (``POST /api/projects/{id}/import``, or the UI's Import): a JSON list of tasks
  ``{"data": {"text": ...}, "predictions": [{"model_version", "score", "result": [choices]}]}``; a prediction is
  shown to the annotator as a pre-annotation.
- JSON export (``GET /api/projects/{id}/export?exportType=JSON``): the tasks with ``data`` and ``annotations``;
  each annotation has ``result`` (``[{"from_name": "sentiment", "type": "choices", "value": {"choices": [..]}}]``),
  ``was_cancelled`` (a skipped task), ``ground_truth``, ``created_at`` / ``updated_at`` (ISO 8601) and ``id``.
- JSON_MIN export (``exportType=JSON_MIN``): one flat row per non-cancelled annotation, ``{"text": ...,
  "id": task id, "sentiment": "positive", "annotation_id", "created_at", "updated_at", ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from affectlens.errors import AffectlensError
from affectlens.labels import SENTIMENT_LABELS

__all__ = [
    "FROM_NAME",
    "LABEL_CONFIG",
    "TO_NAME",
    "LabelStudioFormatError",
    "label_config",
    "read_export",
    "task",
    "tasks",
]

FROM_NAME = "sentiment"  # the <Choices> control: the key of a JSON_MIN row's label
TO_NAME = "text"  # the <Text> object, showing the task's data["text"]
DATA_FIELD = "text"


class LabelStudioFormatError(AffectlensError):
    """A file is not a Label Studio export this module can read; the message says what to give instead."""

    code = "bad_label_studio_export"


def label_config(labels: Sequence[str] = SENTIMENT_LABELS) -> str:
    """The labeling-config XML: the task's text and one single-choice question with ``labels``."""
    names = [str(name) for name in labels]
    if len(names) < 2 or len(set(names)) != len(names):
        raise LabelStudioFormatError(f"a label config needs two or more distinct labels, got {names}")
    choices = "".join(f"    <Choice value={quoteattr(name)}/>\n" for name in names)
    return (
        "<View>\n"
        f'  <Text name="{TO_NAME}" value="${DATA_FIELD}"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInLine="true">\n'
        f"{choices}"
        "  </Choices>\n"
        "</View>\n"
    )


LABEL_CONFIG = label_config(SENTIMENT_LABELS)


def choice_result(label: str) -> list[dict[str, Any]]:
    """The ``result`` of an annotation or prediction that picks ``label``."""
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": [label]}}]


def task(text: str, prediction: Mapping[str, Any] | None, model_version: str, labels: Sequence[str]) -> dict[str, Any]:
    """One import task; ``prediction`` (``label`` and ``scores``, as ``Prediction.to_dict()``) becomes its
    pre-annotation, with the probability of the predicted label as its ``score`` (None: no pre-annotation)."""
    out: dict[str, Any] = {"data": {DATA_FIELD: text}}
    if prediction is None:
        return out
    label = prediction.get("label")
    if label not in labels:
        raise LabelStudioFormatError(f"prediction label {label!r} is not one of the labels {', '.join(labels)}")
    scores = prediction.get("scores") or {}
    score = scores.get(label)
    out["predictions"] = [
        {
            "model_version": model_version,
            "score": None if score is None else round(float(score), 6),
            "result": choice_result(str(label)),
        }
    ]
    return out


def tasks(
    texts: Sequence[str],
    predictions: Sequence[Mapping[str, Any] | None],
    model_version: str,
    labels: Sequence[str] = SENTIMENT_LABELS,
) -> list[dict[str, Any]]:
    """The Label Studio import JSON (a list of tasks) for ``texts`` pre-annotated with ``predictions``."""
    if len(texts) != len(predictions):
        raise LabelStudioFormatError(f"got {len(texts)} texts but {len(predictions)} predictions")
    return [task(text, p, model_version, labels) for text, p in zip(texts, predictions, strict=True)]


def read_export(path: str | Path, text_field: str = "text") -> list[tuple[str, str | None]]:
    """``(text, label)`` for every task of a Label Studio JSON (or JSON_MIN) export, in file order.

    The label is the choice of the task's latest non-cancelled annotation with a choice (an annotation marked
    ground truth wins over later ones); None for a task without one (not annotated yet, skipped, or only empty
    annotations). Tasks whose ``data`` has no text in ``text_field`` are left out; a file where no task has
    it raises :class:`LabelStudioFormatError`. A JSON_MIN export lists annotated tasks only (one row per
    annotation; the latest row of a task wins)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            items = json.load(f)
    except FileNotFoundError:
        raise LabelStudioFormatError(f"{path}: no such file; give a Label Studio JSON export") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LabelStudioFormatError(
            f"{path} is not a JSON file ({exc}); export the project from Label Studio as JSON"
        ) from None
    if isinstance(items, dict) and isinstance(items.get("data"), dict):
        items = [items]  # a single task
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise LabelStudioFormatError(f"{path} is not a Label Studio export (a JSON list of tasks); export as JSON")
    if not items:
        return []
    full = any("data" in item for item in items)
    rows = _full_rows(items, text_field) if full else _min_rows(items, text_field)
    if not rows:
        found = sorted({k for item in items for k in (item.get("data") if full else item) or {}})
        where = "task data" if full else "rows"
        raise LabelStudioFormatError(
            f"{path}: no task has a {text_field!r} text (fields in the {where}: {', '.join(found[:20]) or 'none'}); "
            "set --text-field to the field the label config shows"
        )
    return rows


def _full_rows(items: list[dict[str, Any]], text_field: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in items:
        data = item.get("data")
        text = data.get(text_field) if isinstance(data, dict) else None
        if isinstance(text, str):
            out.append((text, _task_label(item.get("annotations"))))
    return out


def _task_label(annotations: Any) -> str | None:
    """The choice of the ground-truth annotation, else of the latest one; cancelled and empty ones ignored."""
    if not isinstance(annotations, list):
        return None
    usable = []
    for order, annotation in enumerate(annotations):
        if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
            continue
        label = _choice(annotation.get("result"))
        if label is not None:
            usable.append((bool(annotation.get("ground_truth")), _when(annotation), order, label))
    return max(usable)[3] if usable else None


def _when(row: Mapping[str, Any]) -> tuple[str, int]:
    """A sort key for "latest": the last change (ISO 8601 UTC strings sort in time order), then the id."""
    stamp = row.get("updated_at") or row.get("created_at") or ""
    ident = row.get("annotation_id", row.get("id"))
    return str(stamp), ident if isinstance(ident, int) and not isinstance(ident, bool) else -1


def _choice(result: Any) -> str | None:
    """The chosen label in an annotation ``result``: the ``sentiment`` control's, else the first choices'."""
    if not isinstance(result, list):
        return None
    regions = [r for r in result if isinstance(r, dict) and r.get("type") == "choices"]
    regions.sort(key=lambda r: r.get("from_name") != FROM_NAME)  # stable: the sentiment control first
    for region in regions:
        choices = (region.get("value") or {}).get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], str):
            return choices[0]
    return None


def _min_rows(items: list[dict[str, Any]], text_field: str) -> list[tuple[str, str | None]]:
    """JSON_MIN: one row per annotation; rows of one task (same ``id``) collapse into the latest."""
    by_task: dict[Any, tuple[str, Any, tuple[str, int], int]] = {}
    for order, row in enumerate(items):
        text = row.get(text_field)
        if not isinstance(text, str):
            continue
        key = row.get("id", ("row", order))
        key = key if isinstance(key, int | str) else ("row", order)
        label = _min_label(row.get(FROM_NAME, row.get("label")))  # "label": a plain list of labelled rows
        when = _when(row)
        previous = by_task.get(key)
        if previous is None:
            by_task[key] = (text, label, when, order)
        elif label is not None and (previous[1] is None or when > previous[2]):
            by_task[key] = (text, label, when, previous[3])
    return [(text, label) for text, label, _, _ in sorted(by_task.values(), key=lambda v: v[3])]


def _min_label(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict):  # a multi-choice control: {"choices": [...]}
        value = value.get("choices")
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None
