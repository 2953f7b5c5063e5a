"""A tiny stand-in for :class:`affectlens.engine.Engine` (no model, no lexicons) for tests and overhead benchmarks.

It follows the engine's contract where batch jobs depend on it: same input checks (``normalize_text``),
``ScoreError`` in place for bad items, one ``Prediction`` per good item, results independent of the batch.
``delay`` (seconds per text) simulates scoring cost so that a job can be killed mid-way in tests.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence

from affectlens.labels import EMOTION_LABELS, SENTIMENT_LABELS
from affectlens.normalize import NormalizedText, normalize_text
from affectlens.schema import ModelInfo, Prediction, Result, ScoreError


class FakeEngine:
    def __init__(self, threads: int = 0, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.threads = threads
        self.delay = delay
        self.fail_on = fail_on  # a text that makes score_batch raise (to test job failure)
        self.calls = 0

    def score_batch(
        self, texts: Sequence[object], *, ids: Sequence[str | None] | None = None, explain: bool = False
    ) -> list[Result]:
        self.calls += 1
        out: list[Result] = []
        for k, item in enumerate(texts):
            rid = ids[k] if ids is not None else None
            norm = normalize_text(item)
            if not isinstance(norm, NormalizedText):
                out.append(ScoreError(norm.code, norm.message, rid))
                continue
            if self.fail_on is not None and norm.text == self.fail_on:
                raise RuntimeError(f"fake engine failure on {norm.text!r}")
            if self.delay:
                time.sleep(self.delay)
            h = zlib.crc32(norm.text.encode("utf-8"))
            raw = [(h >> s) % 97 + 1.0 for s in (0, 7, 14)]
            total = sum(raw)
            scores = {name: raw[i] / total for i, name in enumerate(SENTIMENT_LABELS)}
            label = max(scores, key=lambda n: scores[n])
            emotions = {name: ((h >> (i % 24)) % 100) / 100.0 for i, name in enumerate(EMOTION_LABELS)}
            out.append(
                Prediction(
                    label=label,
                    scores=scores,
                    valence=scores["positive"] - scores["negative"],
                    emotions=emotions,
                    emotions_predicted=tuple(n for n, p in emotions.items() if p >= 0.9),
                    components={"neural": None, "lexicon": {"label": label, "length": len(norm.text)}},
                    model=ModelInfo("fake", "0"),
                    id=rid,
                    warnings=norm.warnings,
                )
            )
        return out


def fake_engine_factory(threads: int = 0, delay: float = 0.0) -> FakeEngine:
    """Module-level (picklable) factory with the ``factory(threads)`` signature batch workers use."""
    return FakeEngine(threads=threads, delay=delay)
