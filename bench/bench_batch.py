"""Batch scoring benchmark: the ways of scoring a file, side by side in one run on the same texts.

    python bench/bench_batch.py                      # 20k texts, hybrid engine; memory at 20k and 200k rows
    python bench/bench_batch.py --n 4000 --memory-sizes 4000,40000 --memory-mode lexicon --skip rest

Rows (each in a fresh process, so that peak RSS is its own):

* ``engine``     in-process ``Engine.score_batch`` over the texts in chunks (engine built before the clock)
* ``workers=1``  ``affectlens score`` JSONL -> JSONL in this process (the clock includes the engine load)
* ``workers=2``  two spawned worker processes, ``cores // 2`` threads each
* ``rest``       ``affectlens score --via`` against a local TorchServe started by ``affectlens serve``
* ``ray``        ``affectlens score --engine ray`` (Ray local mode, Ray's start-up included)

Then the memory check: the best local configuration on each of ``--memory-sizes`` rows; the peak RSS of the
job's main process must stay flat (streaming) and the workers' too. Prints a table and the ratios against the
in-process engine (targets: best local >= 0.90, Ray >= 0.70); ``--json`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from affectlens.serving import free_ports

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, threading, time
args = json.loads(sys.argv[1])
peaks = {}  # pid -> peak RSS (VmHWM, MB) of every descendant (worker processes, Ray actors)

def _descendants(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                for child in f.read().split():
                    out += [int(child), *_descendants(int(child))]
    except OSError:
        pass
    return out

def _sample():
    while True:
        for pid in _descendants(os.getpid()):
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM"):
                            peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]) / 1024)
            except OSError:
                pass
        time.sleep(0.5)

threading.Thread(target=_sample, daemon=True).start()
kind = args["kind"]
t0 = time.perf_counter()
if kind == "engine":
    from affectlens.engine import Engine, EngineConfig
    from affectlens.lexicons import LexiconConfig
    texts = [json.loads(line)["text"] for line in open(args["input"], encoding="utf-8")]
    t_build = time.perf_counter()
    engine = Engine(EngineConfig(mode=args["mode"], lexicon=LexiconConfig(use_parser=not args["no_parser"])))
    engine.score_batch(texts[:8])  # warm-up
    t0 = time.perf_counter()
    startup = t0 - t_build
    n = 0
    for i in range(0, len(texts), args["chunk"]):
        n += len(engine.score_batch(texts[i:i + args["chunk"]]))
    seconds = time.perf_counter() - t0
    out = {"rows": n, "seconds": seconds, "startup": startup}
else:
    from affectlens.cli import main
    t0 = time.perf_counter()
    argv = ["score", args["input"], "-o", args["output"], "--chunk-size", str(args["chunk"]), "--quiet"]
    argv += {"hybrid": [], "lexicon": ["--lexicon-only"], "neural": ["--neural-only"]}[args["mode"]]
    argv += ["--no-parser"] if args["no_parser"] else []
    argv += args["extra"]
    code = main(argv)
    seconds = time.perf_counter() - t0
    out = {"rows": sum(1 for _ in open(args["output"], "rb")), "seconds": seconds, "code": code}
out["rss_main_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["rss_children_mb"] = max(peaks.values(), default=0.0)  # the largest child process
print("RESULT " + json.dumps(out))
"""


def load_texts(data_dir: Path, n: int) -> list[str]:
    """GoEmotions dev texts (real Reddit comments), cycled with a counter to ``n`` distinct rows."""
    base: list[str] = []
    path = data_dir / "goemotions" / "dev.tsv"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.split("\t", 1)[0].strip()
            if text:
                base.append(text)
    if not base:
        words = ["good", "bad", "great", "awful", "not", "very", "happy", "sad", "movie", "service", "food",
                 "day", "love", "hate"]  # fmt: skip
        base = [" ".join(words[(i * k) % len(words)] for k in range(1, 9)) for i in range(500)]
    return [base[i % len(base)] + ("" if i < len(base) else f" #{i // len(base)}") for i in range(n)]


def write_input(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    return path


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)  # fmt: skip
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"{spec['kind']} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def start_server(tmp: Path, mode: str, no_parser: bool) -> tuple[str, Path]:
    from affectlens.cli import main

    run_dir = tmp / "run"
    inference, management, metrics = free_ports(3)
    args = ["serve", "--run-dir", str(run_dir), "--model-store", str(tmp / "store"), "--inference-port",
            str(inference), "--management-port", str(management), "--metrics-port", str(metrics),
            "--batch-size", "32", "--max-batch-delay", "5", "--timeout", "300"]  # fmt: skip
    args += {"hybrid": [], "lexicon": ["--lexicon-only"], "neural": ["--neural-only"]}[mode]
    args += ["--no-parser"] if no_parser else []
    if main(args) != 0:
        raise RuntimeError("affectlens serve failed")
    return f"http://127.0.0.1:{inference}", run_dir


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000, help="texts for the throughput rows (default 20000)")
    p.add_argument("--memory-sizes", default="20000,200000", help="rows of the memory runs (default 20000,200000)")
    p.add_argument("--mode", choices=["hybrid", "lexicon", "neural"], default="hybrid")
    p.add_argument(
        "--memory-mode",
        choices=["hybrid", "lexicon", "neural"],
        default=None,
        help="engine mode of the memory runs (default: --mode)",
    )
    p.add_argument("--no-parser", action="store_true", help="negation by window rule (no spaCy parser)")
    p.add_argument("--chunk-size", type=int, default=256)
    p.add_argument("--workers", default="1,2", help="worker counts to run (default 1,2)")
    p.add_argument("--ray-actors", type=int, default=None, help="Ray actors (default: the best worker count)")
    p.add_argument("--rest-concurrency", type=int, default=4)
    p.add_argument("--skip", default="", help="comma-separated: workers, rest, ray, memory")
    p.add_argument("--memory-workers", type=int, default=None, help="workers of the memory runs (default: best)")
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="affectlens-bench-") as tmpdir:
        tmp = Path(tmpdir)
        src = write_input(tmp / "in.jsonl", load_texts(Path(args.data_dir), args.n))
        common = {"input": str(src), "mode": args.mode, "chunk": args.chunk_size, "no_parser": args.no_parser}

        def row(name: str, spec: dict[str, Any]) -> dict[str, Any]:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            res = run_child({**common, **spec}, args.timeout)
            res.update(name=name, rows_per_s=res["rows"] / res["seconds"])
            results.append(res)
            print(f"  {name}: {res['rows']} rows in {res['seconds']:.1f} s = {res['rows_per_s']:.0f} rows/s",
                  file=sys.stderr, flush=True)  # fmt: skip
            return res

        base = row("engine", {"kind": "engine"})
        best: dict[str, Any] | None = None
        for w in [] if "workers" in skip else [int(x) for x in args.workers.split(",") if x.strip()]:
            res = row(f"workers={w}", {"kind": "score", "output": str(tmp / f"w{w}.jsonl"),
                                       "extra": ["--workers", str(w)]})  # fmt: skip
            res["workers"] = w
            if best is None or res["rows_per_s"] > best["rows_per_s"]:
                best = res
        if "rest" not in skip:
            try:
                url, run_dir = start_server(tmp, args.mode, args.no_parser)
            except Exception as exc:
                print(f"  rest: skipped, the server did not start: {exc}", file=sys.stderr)
            else:
                try:
                    row("rest", {"kind": "score", "output": str(tmp / "rest.jsonl"), "extra": [
                        "--via", url, "--run-dir", str(run_dir), "--concurrency", str(args.rest_concurrency),
                        "--request-batch", "32"]})  # fmt: skip
                finally:
                    from affectlens.serving import stop_server

                    stop_server(run_dir, timeout_s=30, quiet=True)
        if "ray" not in skip:
            actors = args.ray_actors or (best or {}).get("workers", 1)
            try:
                row(f"ray actors={actors}", {"kind": "score", "output": str(tmp / "ray.jsonl"),
                                             "extra": ["--engine", "ray", "--ray-actors", str(actors)]})  # fmt: skip
            except RuntimeError as exc:
                print(f"  ray: failed: {exc}", file=sys.stderr)
        memory: list[dict[str, Any]] = []
        if "memory" not in skip:
            mode = args.memory_mode or args.mode
            mem_workers = args.memory_workers or (best or {}).get("workers", 1)
            extra = ["--workers", str(mem_workers)]
            for n in [int(x) for x in args.memory_sizes.split(",")]:
                big = write_input(tmp / f"mem{n}.jsonl", load_texts(Path(args.data_dir), n))
                print(f"running memory {n} rows ({mode}, workers={mem_workers}) ...", file=sys.stderr, flush=True)
                res = run_child({**common, "mode": mode, "input": str(big), "kind": "score",
                                 "output": str(tmp / f"mem{n}.out.jsonl"), "extra": extra}, args.timeout)  # fmt: skip
                res.update(n=n, mode=mode, workers=mem_workers)
                memory.append(res)
                (tmp / f"mem{n}.out.jsonl").unlink()
                big.unlink()

    print(f"\naffectlens batch benchmark: {args.n} texts, mode {args.mode}, chunk {args.chunk_size}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(
        "(jobs: wall time including the engine load; 'excl. load' subtracts the in-process engine's load time,"
        f" {base['startup']:.1f} s)"
    )
    print(f"{'configuration':<16} {'rows':>8} {'seconds':>9} {'rows/s':>9} {'vs engine':>10} {'excl. load':>11} "
          f"{'RSS main':>10} {'RSS child':>10}")  # fmt: skip
    for r in results:
        steady = r["rows"] / max(1e-9, r["seconds"] - (0 if r["name"] == "engine" else base["startup"]))
        r["ratio"], r["ratio_excl_load"] = r["rows_per_s"] / base["rows_per_s"], steady / base["rows_per_s"]
        print(
            f"{r['name']:<16} {r['rows']:>8} {r['seconds']:>9.1f} {r['rows_per_s']:>9.0f} {r['ratio']:>10.2f} "
            f"{r['ratio_excl_load']:>11.2f} {r['rss_main_mb']:>8.0f}MB {r['rss_children_mb']:>8.0f}MB"
        )
    summary: dict[str, Any] = {"n": args.n, "mode": args.mode, "results": results, "memory": memory}
    if best is not None:
        summary["best_local_ratio"] = best["rows_per_s"] / base["rows_per_s"]
        print(f"\nbest local ({best['name']}): {summary['best_local_ratio']:.2f} x engine (target >= 0.90)")
    for r in results:
        if r["name"].startswith("ray"):
            summary["ray_ratio"] = r["rows_per_s"] / base["rows_per_s"]
            print(f"ray local mode: {summary['ray_ratio']:.2f} x engine (target >= 0.70)")
    if memory:
        print("\nmemory (peak RSS)  rows      main     workers   rows/s")
        for m in memory:
            print(f"  {m['mode']:<8} {m['n']:>10} {m['rss_main_mb']:>8.0f}MB {m['rss_children_mb']:>8.0f}MB "
                  f"{m['rows'] / m['seconds']:>8.0f}")  # fmt: skip
        growth = memory[-1]["rss_main_mb"] / memory[0]["rss_main_mb"]
        summary["memory_growth"] = growth
        print(f"  main-process peak RSS {memory[-1]['n'] // memory[0]['n']}x rows: x{growth:.2f} (flat = ~1.0)")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
