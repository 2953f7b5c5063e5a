"""Drift-report benchmark: ``affectlens monitor`` on two already-scored windows (target: 10k vs 10k in <= 60 s).

    python bench/bench_monitor.py                 # 10,000 vs 10,000 rows (TweetEval train tweets)
    python bench/bench_monitor.py --rows 2000 --embedding-sample 500

The windows are ``affectlens score --keep text`` outputs made before the clock (lexicon-only scoring: the
predictions' origin does not change what monitor does with them). The clock covers the whole command as a user
runs it: reading both files, the text descriptors, the network's embeddings of the embedding sample, Evidently's
checks and the HTML report. Rows in the table: the whole run, and the same run without the embedding check, side
by side in one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA

ROOT = Path(__file__).resolve().parent.parent


def write_scored(texts: list[str], path: Path) -> None:
    raw = path.with_suffix(".raw.jsonl")
    with raw.open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    cmd = [sys.executable, "-m", "affectlens", "score", str(raw), "-o", str(path), "--keep", "text",
           "--lexicon-only", "--no-progress"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)


def timed(args: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "affectlens", "monitor", *args], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"monitor failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - start, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000, help="rows per window")
    parser.add_argument("--embedding-sample", type=int, default=1000)
    args = parser.parse_args()
    lines = (DATA / "tweeteval" / "sentiment" / "train_text.txt").read_text(encoding="utf-8").splitlines()
    texts = [t for t in lines if t.strip()]
    if len(texts) < 2 * args.rows:
        raise SystemExit(f"need {2 * args.rows} tweets, found {len(texts)}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ref, cur = tmp / "reference.jsonl", tmp / "current.jsonl"
        write_scored(texts[: args.rows], ref)
        write_scored(texts[args.rows : 2 * args.rows], cur)
        common = ["--reference", str(ref), "--current", str(cur), "-o", str(tmp / "report.html")]
        rows = []
        for label, extra in (("full (with embeddings)", ["--embedding-sample", str(args.embedding_sample)]),
                             ("without embeddings", ["--embedding-sample", "0"])):  # fmt: skip
            seconds, rc = timed([*common, *extra])
            rows.append((label, seconds, rc))
        size = (tmp / "report.html").stat().st_size
    print(f"affectlens monitor, {args.rows:,} vs {args.rows:,} scored rows (embedding sample {args.embedding_sample})")
    print(f"{'run':<26} {'seconds':>8} {'exit':>5}")
    for label, seconds, rc in rows:
        print(f"{label:<26} {seconds:8.1f} {rc:5d}")
    print(f"ratio without/with embeddings: {rows[1][1] / rows[0][1]:.2f}; report {size / 1e6:.1f} MB; target <= 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
