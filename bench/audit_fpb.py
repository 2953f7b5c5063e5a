"""Label audit on the Financial PhraseBank: does ``affectlens audit-labels`` find the noisier rows?

    python bench/audit_fpb.py                # both pools below, default model, 5 folds
    python bench/audit_fpb.py --threads 2 --pools train

The PhraseBank's ``extra_50to66agree.tsv`` holds sentences on which only 50-66% of the annotators agreed, so
their labels are noisier by construction than those of ``train.tsv`` / ``validation.tsv`` (75-100% agreement).
Each pool is written to one unlabelled-by-source JSONL file and audited as a user would (``audit_file``: read,
embed with the shipped model's graph, 5-fold linear probe, cleanlab); then the suspect share per source and per
agreement level, and the ROC AUC of ``1 - label quality`` at telling the extra rows from the others.

Pools: ``train`` = train.tsv + extra (the shipped model was fine-tuned on train.tsv, so its embeddings have seen
those labels: an optimistic setting); ``validation`` = validation.tsv + extra (neither seen in training).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DATA

from affectlens.domain.audit import audit_file

EXTRA = "extra_50to66agree"
POOLS = {"train": ("train", EXTRA), "validation": ("validation", EXTRA)}


def read_source(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / f"{name}.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [{"text": r["sentence"], "label": r["label"], "agreement": r["agreement"], "source": name} for r in rows]


def audit_pool(folder: Path, sources: tuple[str, ...], threads: int, folds: int) -> dict[str, object]:
    from sklearn.metrics import roc_auc_score

    rows = [row for name in sources for row in read_source(folder, name)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pooled.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in rows)
        start = time.perf_counter()
        summary, suspects, audit = audit_file(path, folds=folds, threads=threads)
        seconds = time.perf_counter() - start
    assert summary["rows"] == len(rows), "every pooled row must be usable"
    flagged = np.zeros(len(rows), dtype=bool)
    flagged[[int(s["line"]) - 1 for s in suspects]] = True
    is_extra = np.array([r["source"] == EXTRA for r in rows])
    groups: dict[str, np.ndarray] = {name: np.array([r["source"] == name for r in rows]) for name in sources}
    for level in ("100", "75", "66", "50"):
        groups[f"  agreement {level}%"] = np.array([r["agreement"] == level for r in rows])
    return {
        "rows": len(rows),
        "suspects": int(flagged.sum()),
        "groups": {k: (int(m.sum()), int((flagged & m).sum())) for k, m in groups.items() if m.any()},
        "auc": float(roc_auc_score(is_extra, 1.0 - audit.quality)),
        "probe": summary["probe"],
        "seconds": seconds,
        "embedding_seconds": summary["seconds"]["embedding"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "financial_phrasebank")
    parser.add_argument("--pools", default=",".join(POOLS), help=f"comma-separated from {', '.join(POOLS)}")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = all cores)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not (args.data / f"{EXTRA}.tsv").is_file():
        print(f"no Financial PhraseBank at {args.data} (set --data or AFFECTLENS_DATA)", file=sys.stderr)
        return 2
    results = {name: audit_pool(args.data, POOLS[name], args.threads, args.folds) for name in args.pools.split(",")}
    print("| pool | rows in | rows | suspects | suspect share |")
    print("|---|---|---:|---:|---:|")
    for pool, r in results.items():
        for group, (n, flagged) in r["groups"].items():  # type: ignore[attr-defined]
            print(f"| {pool} + extra | {group} | {n:,} | {flagged:,} | {flagged / n:.1%} |")
    print()
    print(
        "| pool | rows | ROC AUC (1 - label quality: extra vs the rest) | probe CV acc / macro-F1 | time (embedding) |"
    )
    print("|---|---:|---:|---:|---:|")
    for pool, r in results.items():
        probe = r["probe"]
        print(f"| {pool} + extra | {r['rows']:,} | {r['auc']:.3f} | {probe['accuracy']:.3f} / {probe['macro_f1']:.3f} "  # type: ignore[index]
              f"| {r['seconds']:.0f} s ({r['embedding_seconds']:.0f} s) |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
