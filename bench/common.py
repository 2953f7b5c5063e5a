"""Helpers shared by the benchmarks: realistic texts, timing, a printed table."""

from __future__ import annotations

import csv
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DATA = Path(os.environ.get("AFFECTLENS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

FALLBACK = [
    "I really don't think this phone is worth the money, the battery dies before lunch every single day",
    "Honestly the best customer service I've had in years, they fixed everything in ten minutes 👍",
    "The quarterly report shows revenue up 4% while operating costs stayed flat compared to last year",
    "not bad at all for a first novel, though the ending drags on a bit longer than it should",
    "Why is nobody talking about how terrible the new update is?? Everything is slower now 😡",
]


def realistic_texts(n: int, min_words: int = 10, max_words: int = 30) -> list[str]:
    """Real tweets and review sentences of 10-30 words (validation splits), repeated to n."""
    pool: list[str] = []
    tweets = DATA / "tweeteval" / "sentiment" / "val_text.txt"
    if tweets.is_file():
        pool += tweets.read_text(encoding="utf-8").splitlines()
    sst = DATA / "sst" / "sst2_validation.tsv"
    if sst.is_file():
        with sst.open(encoding="utf-8") as handle:
            pool += [row["sentence"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    pool = [t.strip() for t in pool if min_words <= len(t.split()) <= max_words] or FALLBACK
    return [pool[i % len(pool)] for i in range(n)]


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` runs (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def latencies(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def p50(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(title: str, rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    print(f"\n== {title} ==")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
