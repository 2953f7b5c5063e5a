"""Run every benchmark in sequence (`make bench`). Each prints its own side-by-side table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_lexicon.py", "bench_neural.py", "bench_hybrid.py", "bench_serving.py", "bench_batch.py"]

if __name__ == "__main__":
    failed = []
    for name in SCRIPTS:
        path = HERE / name
        if not path.is_file():
            continue
        print(f"\n##### {name}", flush=True)
        if subprocess.call([sys.executable, str(path)]) != 0:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")
