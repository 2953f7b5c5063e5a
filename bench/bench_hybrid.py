"""Hybrid vs neural-only throughput at batch 32 (no explanations), the Python API's ``Analyzer.pipe`` against
``Engine.score_batch`` on the same engine, and the cost of explanations.

Usage: python bench/bench_hybrid.py [--n 640] [--model DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, realistic_texts, table

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=640)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    from affectlens.api import Analyzer
    from affectlens.engine import Engine, EngineConfig

    texts = realistic_texts(args.n)
    engines = {mode: Engine(EngineConfig(mode=mode, model_dir=args.model)) for mode in ("neural", "hybrid", "lexicon")}

    def run(engine: Engine, explain: bool = False, items: list[str] = texts) -> None:
        for i in range(0, len(items), 32):
            engine.score_batch(items[i : i + 32], explain=explain)

    for engine in engines.values():
        run(engine, items=texts[:64])  # warm-up (loads spaCy lazily)
    seconds = {mode: best_of(lambda e=engine: run(e)) for mode, engine in engines.items()}
    analyzer = Analyzer(engines["hybrid"], batch_size=32)
    pipe_s = best_of(lambda: sum(1 for _ in analyzer.pipe(iter(texts))))
    few = texts[:64]
    explain_s = best_of(lambda: run(engines["hybrid"], True, few), repeat=1)
    rows = [[mode, f"{args.n / s:.0f}", f"{seconds['neural'] / s:.2f}"] for mode, s in seconds.items()]
    table(f"engine throughput at batch 32 ({args.n} texts of 10-30 words)", rows, ["mode", "texts/s", "vs neural-only"])
    print(f"hybrid keeps {seconds['neural'] / seconds['hybrid']:.0%} of neural-only throughput (target >= 60%)")
    table(
        "Python API on the hybrid engine",
        [["Engine.score_batch", f"{args.n / seconds['hybrid']:.0f}", "1.00"],
         ["Analyzer.pipe (generator in)", f"{args.n / pipe_s:.0f}", f"{seconds['hybrid'] / pipe_s:.2f}"]],
        ["path", "texts/s", "vs score_batch"],
    )  # fmt: skip
    print(f"explanations (occlusion through the hybrid): {explain_s / len(few) * 1000:.1f} ms per text")


if __name__ == "__main__":
    main()
