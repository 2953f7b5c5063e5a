"""The handler's monitoring, without TorchServe: prediction metrics per batch and a sample of live predictions.

``batch_stats`` reads what the handler answered (predictions and error objects, inline ones included) and
``emit_metrics`` hands it to TorchServe's metrics cache (``context.metrics.add_metric``), in the dimension order
``affectlens.serving.protocol.HANDLER_METRICS`` declares in the metrics YAML. ``PredictionSampler`` appends a
share of the predictions to a JSONL file, one ``affectlens score`` output row per line (``id``, ``text``, then
the prediction's fields), a reference window of live traffic for a later drift check.

Standard library only: the handler imports this in the TorchServe worker. Neither part may fail a request: the
handler calls them after the answers are encoded, and both catch and log their own errors.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from affectlens.serving.protocol import (
    BATCH_METRIC,
    CONFIDENCE_METRIC,
    DEFAULT_MODEL_NAME,
    ERRORS_METRIC,
    INPUT_TOKENS_METRIC,
    LOW_CONFIDENCE_METRIC,
    LOW_CONFIDENCE_THRESHOLD,
    PREDICTIONS_METRIC,
    STAGE_METRIC,
    STAGE_SECONDS_METRIC,
)

log = logging.getLogger("affectlens.handler")


# -- what a batch answered -------------------------------------------------------------------------
def answered_entries(answers: Sequence[tuple[int, Any]], parsed: Mapping[int, Any]) -> Iterator[tuple[Any, Any]]:
    """``(text, entry)`` for every prediction or error object of the answers, in order.

    ``answers[i]`` is request i's ``(status, body)``: one object, or a list of them (a ``texts`` request).
    ``parsed[i]`` (``ParsedRequest``: ``texts``, ``single``) gives the texts; ``text`` is None where the request
    never decoded, or where a ``texts`` request was answered with one error object (a 500).
    """
    for i, (_, body) in enumerate(answers):
        request = parsed.get(i)
        texts = list(getattr(request, "texts", None) or [])
        if isinstance(body, list):
            for k, entry in enumerate(body):
                yield (texts[k] if k < len(texts) else None), entry
        elif isinstance(body, dict):
            single = request is not None and getattr(request, "single", False) and "error" not in body
            yield (texts[0] if single and texts else None), body


def confidence(entry: Mapping[str, Any]) -> float | None:
    """The prediction's confidence: its largest (calibrated) sentiment probability; None when it has none."""
    scores = entry.get("scores")
    if not isinstance(scores, Mapping) or not scores:
        return None
    values = [float(v) for v in scores.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(values) if values else None


def input_tokens(text: Any) -> int | None:
    """What ``affectlens_input_tokens`` counts: the whitespace-separated tokens of the text as received
    (``str.split()``). Cheap and the same in every mode; not the network's WordPiece count (larger, and cut at
    the model's max_length) nor the lexicon's tokens (punctuation and emoji split off)."""
    return len(text.split()) if isinstance(text, str) else None


@dataclass
class BatchStats:
    """What one TorchServe batch answered, for the metrics."""

    labels: Counter[str] = field(default_factory=Counter)  # predicted sentiment label -> predictions
    confidences: list[float] = field(default_factory=list)  # one per prediction
    tokens: list[int] = field(default_factory=list)  # one per prediction (see input_tokens)
    low_confidence: int = 0  # predictions with confidence < threshold
    errors: Counter[str] = field(default_factory=Counter)  # error code -> error objects answered


def batch_stats(pairs: Sequence[tuple[Any, Any]], low_confidence: float = LOW_CONFIDENCE_THRESHOLD) -> BatchStats:
    """Count the predictions (label, confidence, tokens) and the error objects (by code) of ``pairs``."""
    stats = BatchStats()
    for text, entry in pairs:
        if not isinstance(entry, Mapping):
            continue
        error = entry.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, Mapping) else None
            stats.errors[str(code or "error")] += 1
            continue
        label = entry.get("label")
        if isinstance(label, str):
            stats.labels[label] += 1
        conf = confidence(entry)
        if conf is not None:
            stats.confidences.append(conf)
            stats.low_confidence += conf < low_confidence
        n = input_tokens(text)
        if n is not None:
            stats.tokens.append(n)
    return stats


# -- TorchServe metrics ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dim:
    """Stands in for ``ts.metrics.dimension.Dimension`` outside TorchServe (unit tests with a mock context)."""

    name: str
    value: str


def emit_metrics(context: Any, n: int, stages: Mapping[str, float], stats: BatchStats | None) -> None:
    """The handler's custom metrics for one batch of ``n`` requests (declared in the metrics YAML that
    ``affectlens serve`` writes: ``HANDLER_METRICS``; dimension order matters). Never raises."""
    metrics = getattr(context, "metrics", None)
    if metrics is None:
        return
    try:
        try:
            from ts.metrics.dimension import Dimension
            from ts.metrics.metric_type_enum import MetricTypes

            counter, histogram = MetricTypes.COUNTER, MetricTypes.HISTOGRAM
        except ImportError:  # outside TorchServe
            Dimension, counter, histogram = _Dim, "counter", "histogram"
        model = str(getattr(context, "model_name", None) or DEFAULT_MODEL_NAME)

        def dims(*extra: tuple[str, str]) -> list[Any]:  # a new list per call: TorchServe appends to it
            return [Dimension("ModelName", model), Dimension("Level", "Model"), *(Dimension(k, v) for k, v in extra)]

        add = metrics.add_metric
        for stage, ms in stages.items():  # the engine's stages (affectlens.engine.TIMING_STAGES), in its order
            add(name=STAGE_METRIC, value=round(ms, 3), unit="ms", dimensions=dims(("Stage", stage)),
                metric_type=histogram)  # fmt: skip
            add(name=STAGE_SECONDS_METRIC, value=round(ms / 1000.0, 6), unit="seconds",
                dimensions=dims(("Stage", stage)), metric_type=histogram)  # fmt: skip
        add(name=BATCH_METRIC, value=n, unit="count", dimensions=dims(), metric_type=histogram)
        if stats is None:
            return
        for label, count in sorted(stats.labels.items()):
            add(name=PREDICTIONS_METRIC, value=count, unit="count", dimensions=dims(("Label", label)),
                metric_type=counter)  # fmt: skip
        for value in stats.confidences:
            add(name=CONFIDENCE_METRIC, value=round(value, 6), unit="probability", dimensions=dims(),
                metric_type=histogram)  # fmt: skip
        for tokens in stats.tokens:
            add(name=INPUT_TOKENS_METRIC, value=tokens, unit="tokens", dimensions=dims(), metric_type=histogram)
        if stats.confidences:  # 0 too: the series exists from the first prediction on (no gap in rate())
            add(name=LOW_CONFIDENCE_METRIC, value=stats.low_confidence, unit="count", dimensions=dims(),
                metric_type=counter)  # fmt: skip
        for code, count in sorted(stats.errors.items()):
            add(name=ERRORS_METRIC, value=count, unit="count", dimensions=dims(("Code", code)), metric_type=counter)
    except Exception:  # metrics must never fail a request
        log.warning("could not emit affectlens metrics", exc_info=True)


# -- the sample of live predictions ----------------------------------------------------------------
def sample_row(entry: Mapping[str, Any], text: Any = None, with_text: bool = True) -> dict[str, Any]:
    """A prediction as an ``affectlens score`` JSONL output row: ``id``, ``text`` (when kept), then the rest.

    ``id`` is left out when the request gave none (the prediction schema allows no null id)."""
    row: dict[str, Any] = {} if entry.get("id") is None else {"id": entry["id"]}
    if with_text:
        row["text"] = text
    row.update((k, v) for k, v in entry.items() if k != "id")
    return row


class PredictionSampler:
    """Appends a share (``rate``) of the answered predictions to ``path``, one JSON row per line.

    Each line is written with one ``os.write`` on a descriptor opened with ``O_APPEND``: the kernel moves the
    offset to the end and writes the line in one step, so the lines of several workers appending to one file
    do not interleave on a local file system (POSIX promises this only for pipes up to PIPE_BUF; network file
    systems such as NFS do not honour O_APPEND: give each worker host its own file there). Nothing is buffered
    in the process, so a worker that crashes loses at most the line it was writing; a torn last line (no
    newline) is closed with a newline before the next append, so one bad line never swallows the next. No fsync
    (a power cut can lose the last lines). The file is opened per batch, so log rotation needs no signal.
    Errors are logged (the first, then every 100th) and never reach the request.
    """

    def __init__(self, rate: float, path: str | None, *, with_text: bool = True, seed: int | None = None) -> None:
        self.rate = float(rate)
        self.path = path
        self.with_text = with_text
        self.rng = random.Random(seed)  # seed None: seeded from the OS, different per worker process
        self.written = 0
        self.failures = 0
        self._torn = True  # check the file's last byte before the first append of this process

    @classmethod
    def from_config(cls, config: Any) -> PredictionSampler:
        """The sampler a ``HandlerConfig`` asks for (``sample_predictions``, ``sample_file``, ``sample_text``,
        ``sample_seed``)."""
        return cls(config.sample_predictions, config.sample_file, with_text=config.sample_text, seed=config.sample_seed)

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and bool(self.path)

    def sample(self, pairs: Sequence[tuple[Any, Any]]) -> int:
        """Append the sampled predictions of ``pairs`` (``(text, entry)``; errors are never sampled); returns
        how many lines were written. Never raises."""
        if not self.enabled:
            return 0
        try:
            lines = [
                (json.dumps(sample_row(entry, text, self.with_text), ensure_ascii=False, separators=(",", ":"),
                            allow_nan=False) + "\n").encode("utf-8", "backslashreplace")
                for text, entry in pairs
                if isinstance(entry, Mapping) and "error" not in entry and self.rng.random() < self.rate
            ]  # fmt: skip
            if lines:
                self._append(lines)
            return len(lines)
        except Exception:
            self.failures += 1
            if self.failures % 100 == 1:
                log.warning("could not append sampled predictions to %s (%d failures so far)", self.path,
                            self.failures, exc_info=True)  # fmt: skip
            return 0

    def _append(self, lines: list[bytes]) -> None:
        assert self.path is not None
        parent = os.path.dirname(self.path)
        if parent and not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)  # texts may be private
        try:
            if self._torn:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    os.write(fd, b"\n")
                self._torn = False
            for line in lines:
                self._torn = True
                done = os.write(fd, line)
                while done < len(line):  # a short write (disk full): finish the line, or fail with the error
                    done += os.write(fd, line[done:])
                self._torn = False
                self.written += 1
        finally:
            os.close(fd)
