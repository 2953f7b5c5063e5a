"""The README's learning curve: Financial PhraseBank validation macro-F1 after adapting on 100 / 200 / 400 / 800
labels, chosen actively (``affectlens select``'s strategy) or at random, over seeds.

    python bench/learning_curve_fpb.py                         # margin+diverse vs random, 3 seeds
    python bench/learning_curve_fpb.py --sizes 100,200 --seeds 1 --strategy margin

The pool is ``train.tsv`` (its labels play the annotators); the shipped model scores it once (calibrated
probabilities and sentence embeddings from one pass). For each size and seed: the active arm takes the top of
``affectlens.domain.strategies.rank(strategy, ...)`` (seeded), the random arm a seeded random sample of the same
size; both fine-tune the shipped weights with ``affectlens.export.adapt_train.fine_tune`` at one learning rate for
a fixed number of epochs (no early stopping: the validation split only measures), then the network's macro-F1 on
``validation.tsv``. One-shot selection with the shipped model (no retraining between rounds). Writes
``reports/learning_curve_fpb.json`` and prints a Markdown table (mean ± sd over seeds).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from affectlens.export.adapt_train import AdaptTrainConfig, fine_tune
from common import DATA

from affectlens.domain.strategies import rank
from affectlens.engine import Engine, default_model_dir
from affectlens.labels import SENTIMENT_LABELS


def read_tsv(name: str) -> tuple[list[str], list[int]]:
    with (DATA / "financial_phrasebank" / name).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [SENTIMENT_LABELS.index(r["label"]) for r in rows]


def epochs_for(n: int) -> int:
    """Fixed epochs by budget: small sets need more passes (about 100-130 optimizer steps in all)."""
    return {100: 12, 200: 8, 400: 6, 800: 4}.get(n, 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100,200,400,800")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategy", default="margin+diverse")
    parser.add_argument("--learning-rate", type=float, default=6e-5)
    parser.add_argument("--json", default="reports/learning_curve_fpb.json")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    pool_texts, pool_y = read_tsv("train.tsv")
    val_texts, val_y = read_tsv("validation.tsv")
    engine = Engine()
    vectors: list[np.ndarray | None] = []
    probs = np.array(
        [
            [r.to_dict()["scores"][n] for n in SENTIMENT_LABELS]
            for r in engine.score_batch(pool_texts, embeddings=vectors)
        ]
    )
    embeddings = np.stack([v for v in vectors if v is not None])
    results = []
    base = str(default_model_dir() / "hf")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for n in sizes:
                arms = {
                    "active": rank(args.strategy, probs, embeddings, n, seed=seed)[:n],
                    "random": np.random.default_rng(1000 + seed).choice(len(pool_texts), n, replace=False),
                }
                for arm, idx in arms.items():
                    start = time.perf_counter()
                    cfg = AdaptTrainConfig(
                        base=base,
                        output_dir=f"{tmp}/{arm}-{n}-{seed}",
                        learning_rate=args.learning_rate,
                        max_epochs=epochs_for(n),
                        validate_every_epoch=False,
                        seed=seed,
                    )
                    run = fine_tune([pool_texts[i] for i in idx], [pool_y[i] for i in idx], val_texts, val_y, cfg)
                    final = run["history"][-1]["val_macro_f1"]
                    counts = np.bincount([pool_y[i] for i in idx], minlength=3).tolist()
                    results.append(
                        {
                            "arm": arm,
                            "n": n,
                            "seed": seed,
                            "macro_f1": final,
                            "label_counts": counts,
                            "seconds": round(time.perf_counter() - start, 1),
                        }
                    )
                    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"| labels | {args.strategy} (mean ± sd) | random (mean ± sd) |\n|---|---|---|")
    for n in sizes:
        cells = []
        for arm in ("active", "random"):
            scores = [r["macro_f1"] for r in results if r["n"] == n and r["arm"] == arm]
            sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
            cells.append(f"{statistics.mean(scores):.3f} ± {sd:.3f}")
        print(f"| {n} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
