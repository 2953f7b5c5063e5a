"""The README's "Monitor it" example, measured: tweets vs financial news, random halves, a gradual mix.

    python bench/monitor_example.py                  # all three experiments (about 10 minutes on 2 cores)
    python bench/monitor_example.py --splits 5       # fewer random halves

Data (``../shared/data``): TweetEval sentiment validation tweets (2,000) and Financial PhraseBank sentences
(train + validation). Every text is scored once with the shipped hybrid model and written as ``affectlens score
--keep text`` rows; each experiment then runs :func:`affectlens.monitoring.monitor` on two windows of those rows
(predictions reused, embeddings of a 1,000-row sample per window):

1. 1,000 tweets vs 1,000 news sentences (should alarm);
2. ``--splits`` random halves of the tweets (should not: count the exits 0);
3. reference = one half of the tweets, current = the other half with 10 / 30 / 50 % of its rows replaced by news.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import DATA

from affectlens.engine import Engine
from affectlens.monitoring import MonitorConfig, monitor


def load_texts() -> tuple[list[str], list[str]]:
    tweets = (DATA / "tweeteval" / "sentiment" / "val_text.txt").read_text(encoding="utf-8").splitlines()
    news: list[str] = []
    for name in ("train.tsv", "validation.tsv"):
        with (DATA / "financial_phrasebank" / name).open(encoding="utf-8") as f:
            news += [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    return [t for t in tweets if t.strip()], news


def score_rows(engine: Engine, texts: list[str]) -> list[dict[str, Any]]:
    rows = []
    for start in range(0, len(texts), 256):
        chunk = texts[start : start + 256]
        for text, result in zip(chunk, engine.score_batch(chunk), strict=True):
            rows.append({**result.to_dict(), "text": text})
    return rows


def write(rows: list[dict[str, Any]], path: Path) -> str:
    with path.open("w", encoding="utf-8") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"id": i, **row}, ensure_ascii=False) + "\n")
    return str(path)


def run(engine: Engine, tmp: Path, ref: list[dict[str, Any]], cur: list[dict[str, Any]], tag: str) -> dict[str, Any]:
    config = MonitorConfig(reference=write(ref, tmp / f"{tag}-ref.jsonl"), current=write(cur, tmp / f"{tag}-cur.jsonl"))
    summary = monitor(config, engine=engine)
    return {
        "experiment": tag,
        "exit": 1 if summary["drift_detected"] else 0,
        "groups": {g: v["drifted"] for g, v in summary["groups"].items()},
        "drifted": [c["name"] for c in summary["checks"] if c["drifted"]],
        "embedding_auc": next((c["statistic"] for c in summary["checks"] if c["group"] == "embedding"), None),
        "seconds": summary["seconds"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--json", default="reports/monitor_example.json")
    args = parser.parse_args()
    engine = Engine()
    tweets, news = load_texts()
    print(f"scoring {len(tweets)} tweets and {len(news)} news sentences once", file=sys.stderr)
    tweet_rows, news_rows = score_rows(engine, tweets), score_rows(engine, news)
    rng = random.Random(0)
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        results.append(run(engine, tmp, rng.sample(tweet_rows, 1000), rng.sample(news_rows, 1000), "tweets-vs-news"))
        for k in range(args.splits):
            shuffled = rng.sample(tweet_rows, len(tweet_rows))
            half = len(shuffled) // 2
            results.append(run(engine, tmp, shuffled[:half], shuffled[half:], f"halves-{k}"))
        shuffled = random.Random(1).sample(tweet_rows, len(tweet_rows))
        half = len(shuffled) // 2
        reference, current = shuffled[:half], shuffled[half:]
        for share in (0.1, 0.3, 0.5):
            n_news = round(share * len(current))
            mixed = current[n_news:] + random.Random(2).sample(news_rows, n_news)
            results.append(run(engine, tmp, reference, mixed, f"mix-{int(share * 100)}%"))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    halves = [r for r in results if r["experiment"].startswith("halves")]
    print("| experiment | exit | drifted text / prediction / embedding | embedding ROC AUC | drifted checks |")
    print("|---|---|---|---|---|")
    for r in results:
        if r["experiment"].startswith("halves") and r["exit"] == 0:
            continue
        g = r["groups"]
        auc = "" if r["embedding_auc"] is None else f"{r['embedding_auc']:.3f}"
        print(f"| {r['experiment']} | {r['exit']} | {g['text']} / {g['prediction']} / {g['embedding']} | {auc} | "
              f"{', '.join(r['drifted']) or '-'} |")  # fmt: skip
    print(f"\nrandom halves: {sum(r['exit'] == 0 for r in halves)} of {len(halves)} exit 0 "
          f"(max embedding AUC {max((r['embedding_auc'] or 0) for r in halves):.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
