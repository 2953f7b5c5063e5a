"""TorchServe on loopback vs the in-process engine, side by side in one run.

Prints: p50/p95 latency of single requests, interleaved request by request so both see the same machine load
(target: TorchServe p50 <= in-process p50 + 4 ms); throughput of N concurrent clients sending one text per
request vs the in-process engine at batch 32 (target >= 80%); the time from `affectlens serve` to READY; the
memory (RSS) of the TorchServe frontend and worker.

Usage: python bench/bench_serving.py [--n 300] [--clients 8] [--model DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, p50, percentile, realistic_texts, table

from affectlens.serving.protocol import BATCH_METRIC, STAGE_METRIC

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Client:
    """One keep-alive HTTP connection (http.client: less client CPU than requests on a 2-core box)."""

    def __init__(self, port: int, path: str, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def score(self, text: str) -> dict[str, Any]:
        self.conn.request("POST", self.path, body=json.dumps({"text": text}).encode(), headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
        return dict(json.loads(body))


def concurrent_throughput(port: int, path: str, token: str, texts: list[str], clients: int) -> float:
    """Requests per second of ``clients`` threads sending all texts, one text per request."""
    lock = threading.Lock()
    next_index = [0]
    errors: list[BaseException] = []

    def worker() -> None:
        client = Client(port, path, token)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(texts):
                return
            try:
                client.score(texts[i])
            except BaseException as exc:  # report after the run
                errors.append(exc)
                return

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} client errors, first: {errors[0]}")
    return len(texts) / seconds


def scrape(url: str) -> dict[str, float]:
    """Sums of the Prometheus series the latency breakdown needs."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    text = opener.open(url, timeout=10).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        if name in ("ts_inference_latency_microseconds", "ts_queue_latency_microseconds", "ts_inference_requests_total",
                    f"{STAGE_METRIC}_sum", f"{BATCH_METRIC}_count"):  # fmt: skip
            out[name] = out.get(name, 0.0) + float(value)
    return out


def per_request_breakdown(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """Mean ms per request: inside TorchServe (frontend timing), queued in the frontend, inside the engine."""

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    return {
        "frontend": delta("ts_inference_latency_microseconds") / 1000 / n,
        "queue": delta("ts_queue_latency_microseconds") / 1000 / n,
        "engine": delta(f"{STAGE_METRIC}_sum") / n,
    }


def _worker_threads(run_dir: Path) -> str:
    """The ONNX Runtime threads the worker reported at start-up (its "handler ready" log line)."""
    import re

    log_text = (run_dir / "logs" / "model_log.log").read_text(errors="replace") if run_dir.is_dir() else ""
    found = re.findall(r"(\d+) ORT threads", log_text)
    return found[-1] if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="requests per measurement (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--model", default=None, help="model folder (default: the shipped default model)")
    parser.add_argument("--threads", type=int, default=0,
                        help="ONNX Runtime threads on both sides (default 0: each side's own choice: all cores "
                             "in-process, `affectlens serve`'s automatic choice in the worker)")  # fmt: skip
    parser.add_argument("--max-batch-delay", type=int, default=None, help="server batch delay in ms (default: serve's)")
    parser.add_argument("--workers", type=int, default=None, help="TorchServe workers (default: serve's)")
    parser.add_argument("--batch-size", type=int, default=None, help="server batch size (default: serve's)")
    parser.add_argument("--no-spin-wait", action="store_true",
                        help="in-process ORT threads sleep between runs too (the worker's do by default)")  # fmt: skip
    args = parser.parse_args()

    from affectlens import serving
    from affectlens.engine import Engine, EngineConfig
    from affectlens.neural import NeuralConfig

    texts = realistic_texts(args.n)
    archive_kwargs: dict[str, Any] = {"model_dir": Path(args.model).resolve()} if args.model else {}
    if args.max_batch_delay is not None:
        archive_kwargs["max_batch_delay_ms"] = args.max_batch_delay
    if args.batch_size is not None:
        archive_kwargs["batch_size"] = args.batch_size
    start = time.perf_counter()
    _, built = serving.ensure_archive(serving.ArchiveConfig(**archive_kwargs))
    archive_s = time.perf_counter() - start

    run_dir = Path(tempfile.mkdtemp(prefix="affectlens-bench-"))
    ports = serving.free_ports(3)
    cmd = [sys.executable, "-m", "affectlens.cli", "serve", "--run-dir", str(run_dir), "--inference-port",
           str(ports[0]), "--management-port", str(ports[1]), "--metrics-port", str(ports[2])]  # fmt: skip
    if args.model:
        cmd += ["--model", args.model]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.max_batch_delay is not None:
        cmd += ["--max-batch-delay", str(args.max_batch_delay)]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    if args.batch_size is not None:
        cmd += ["--batch-size", str(args.batch_size)]
    try:
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        ready_s = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"affectlens serve failed:\n{proc.stderr}")
        state = serving.ServerState.read(run_dir)
        assert state is not None
        token = serving.read_token(run_dir)
        path = f"/predictions/{state.model_name}"
        processes = serving.server_processes(state)
        worker_threads = _worker_threads(run_dir)

        neural = NeuralConfig(intra_op_threads=args.threads, spin_wait=not args.no_spin_wait)
        engine = Engine(EngineConfig(model_dir=args.model, neural=neural))
        client = Client(state.inference_port, path, token)
        for text in texts[:20]:  # warm-up both (spaCy loads lazily in-process)
            engine.score(text)
            client.score(text)

        local_ms: list[float] = []
        served_ms: list[float] = []
        before = scrape(state.metrics_url)
        for block in range(0, len(texts), 25):  # alternating blocks: both sides see the same background load
            for text in texts[block : block + 25]:
                t0 = time.perf_counter()
                engine.score(text)
                local_ms.append((time.perf_counter() - t0) * 1000)
            for text in texts[block : block + 25]:
                t0 = time.perf_counter()
                client.score(text)
                served_ms.append((time.perf_counter() - t0) * 1000)
        breakdown = per_request_breakdown(before, scrape(state.metrics_url), len(texts))

        def run_batches() -> None:
            for i in range(0, len(texts), 32):
                engine.score_batch(texts[i : i + 32])

        local_tput = len(texts) / best_of(run_batches, repeat=2)
        served_tput = max(
            concurrent_throughput(state.inference_port, path, token, texts, args.clients) for _ in range(2)
        )
        frontend_mb = sum(rss_mb(p) for p in processes["frontend"])
        worker_mb = sum(rss_mb(p) for p in processes["workers"])
        self_mb = rss_mb(os.getpid())
    finally:
        subprocess.run([sys.executable, "-m", "affectlens.cli", "stop", "--run-dir", str(run_dir)],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(run_dir, ignore_errors=True)

    lp50, sp50 = p50(local_ms), p50(served_ms)
    table(
        f"single requests ({len(texts)} texts of 10-30 words, interleaved; ORT threads: in-process "
        f"{args.threads or 'all cores'}, TorchServe worker {worker_threads}), ms",
        [["in-process Engine.score", f"{lp50:.2f}", f"{percentile(local_ms, 95):.2f}"],
         ["TorchServe (HTTP, loopback)", f"{sp50:.2f}", f"{percentile(served_ms, 95):.2f}"],
         ["difference", f"{sp50 - lp50:+.2f}", f"{percentile(served_ms, 95) - percentile(local_ms, 95):+.2f}"]],
        ["path", "p50", "p95"],
    )  # fmt: skip
    print(f"where a TorchServe request spends its time (mean ms): {breakdown['frontend']:.2f} inside TorchServe "
          f"(of which {breakdown['queue']:.2f} queued before a worker took it; "
          f"{breakdown['engine']:.2f} in the engine); the rest is HTTP and the client")  # fmt: skip
    table(
        "throughput, texts/s",
        [["in-process score_batch, batch 32", f"{local_tput:.0f}", "1.00"],
         [f"TorchServe, {args.clients} concurrent clients", f"{served_tput:.0f}", f"{served_tput / local_tput:.2f}"]],
        ["path", "texts/s", "ratio"],
    )  # fmt: skip
    table(
        "start-up and memory",
        [["`affectlens serve` to READY (archive up to date)", f"{ready_s:.1f} s"],
         ["archive build" + ("" if built else " (skipped: up to date)"), f"{archive_s:.1f} s"],
         ["TorchServe frontend (Java) RSS", f"{frontend_mb:.0f} MB"],
         [f"TorchServe worker RSS ({len(processes['workers'])} worker)", f"{worker_mb:.0f} MB"],
         ["this process (in-process engine + clients) RSS", f"{self_mb:.0f} MB"]],
        ["what", "value"],
    )  # fmt: skip
    ok_latency = sp50 <= lp50 + 4.0
    ok_tput = served_tput >= 0.8 * local_tput
    print(f"\nTorchServe p50 {sp50:.2f} ms vs in-process {lp50:.2f} ms + 4 ms: {'PASS' if ok_latency else 'MISS'}")
    print(f"TorchServe throughput {served_tput / local_tput:.0%} of in-process batch (>= 80%): "
          f"{'PASS' if ok_tput else 'MISS'}")  # fmt: skip
    print(f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
