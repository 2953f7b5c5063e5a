"""GPU proof for an fp16 model folder: parity with fp32, speed on CUDA against CPU int8, and serving.

(b) fp16 on ``--provider`` (cuda) against fp32 PyTorch on CPU from the Hugging Face weights, on the same
token ids: sentiment argmax agreement must reach ``--min-agreement``. (c) batch-1 p50 latency and batch-64
throughput of the fp16 graph on the provider and of the shipped int8 graph on CPU, with their ratios.
(d, ``--serve``) `affectlens serve` with the fp16 folder: a few requests and the provider the worker reports.
(e) a JSON of the figures. ``bench/gpu_check.sh`` builds the folder and runs this on an NVIDIA machine;
``--provider cpu`` is a dry run anywhere. Needs the train extra (torch, transformers) and onnxruntime(-gpu).
Usage: python bench/gpu_check.py --model DIR [--provider cuda|cpu] [--n 2000] [--serve] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, p50, percentile  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROVIDER_NAMES = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
# Validation splits mixed across domains (tweets, Reddit, movie reviews, finance news).
SPLITS = (("tweeteval-sentiment", "val"), ("goemotions", "dev"), ("sst2", "validation"), ("financial-phrasebank",
          "validation"))  # fmt: skip
_SUBJECTS = (
    "The new phone", "This restaurant", "My flight", "The customer service", "Their latest album", "The hotel room",
    "This update", "The quarterly report", "Our team meeting", "The movie", "The delivery", "The weather today",
    "The app", "My new job", "The concert",
)  # fmt: skip
_PREDICATES = (
    "is absolutely wonderful", "was a complete waste of money", "is scheduled for Tuesday at 3pm",
    "is not bad at all", "isn't what I hoped for 😞", "made my day 😂👍", "is fine, I guess",
    "was delayed again and nobody told us 😡", "exceeded every expectation I had", "honestly scares me a little",
    "left me speechless, in a good way", "could have been worse", "is the worst thing that happened this year",
    "has 12 new features according to the release notes", "surprised everyone, who knew?",
    "is so boring I fell asleep halfway through", "deserves all the praise it gets ❤️",
    "broke after two days, unbelievable", "is neither good nor bad", "makes me grateful for the small things",
)  # fmt: skip
BUILTIN_TEXTS = tuple(f"{s} {p}." for s in _SUBJECTS for p in _PREDICATES)  # 300 fixed, varied sentences


def validation_texts(n: int, data_dir: Path) -> tuple[list[str], str]:
    """Up to ``n`` distinct validation texts, domains interleaved (seeded), or the 300 built-in sentences."""
    from affectlens.datasets import load_named

    pools: list[list[str]] = []
    for name, split in SPLITS:
        try:
            texts = [r.text for r in load_named(name, data_dir, split) if r.text.strip()]
        except Exception:  # a split that is not there: use the others
            continue
        random.Random(0).shuffle(texts)
        pools.append(texts)
    out: list[str] = []
    seen: set[str] = set()
    for row in zip(*pools, strict=False) if pools else ():
        for text in row:
            if text not in seen:
                seen.add(text)
                out.append(text)
    if len(out) < min(n, 100):
        return list(BUILTIN_TEXTS[:n]), "built-in sentences"
    return out[:n], f"validation splits in {data_dir}"


def torch_fp32_logits(hf_dir: Path, encodings: Sequence[Any], batch_size: int = 64) -> np.ndarray:
    """fp32 PyTorch on CPU from the Hugging Face weights (stored fp16, upcast), on the given token ids."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = AutoModelForSequenceClassification.from_pretrained(str(hf_dir)).float().eval()
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    out = np.zeros((len(encodings), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = torch.zeros((len(idx), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, i in enumerate(idx):
                ids[row, : len(encodings[i].ids)] = torch.tensor(encodings[i].ids)
                mask[row, : len(encodings[i].ids)] = 1
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits
            out[idx] = logits.float().numpy()
    return out


def speed(model: Any, texts: Sequence[str], calls: int, batches: int, batch_size: int = 64) -> dict[str, float]:
    """Batch-1 latency (p50, p90 ms over ``calls`` texts) and batch-``batch_size`` throughput (texts/s)."""
    for text in texts[:5]:
        model.logits([text])  # warm-up: CUDA kernels, allocator, thread pools
    model.logits(list(texts[:batch_size]))
    lat = []
    for k in range(calls):
        start = time.perf_counter()
        model.logits([texts[k % len(texts)]])
        lat.append((time.perf_counter() - start) * 1000.0)
    chunks = [[texts[(b * batch_size + j) % len(texts)] for j in range(batch_size)] for b in range(batches)]
    start = time.perf_counter()
    for chunk in chunks:
        model.logits(chunk)
    seconds = time.perf_counter() - start
    return {
        "batch1_p50_ms": round(p50(lat), 3),
        "batch1_p90_ms": round(percentile(lat, 90), 3),
        f"batch{batch_size}_texts_per_s": round(batches * batch_size / seconds, 1),
        "texts_per_onnx_call": model.run_batch_size,
    }


def serve_check(model_dir: Path, provider: str, timeout_s: float) -> dict[str, Any]:
    """Start `affectlens serve` with the fp16 folder, send a few requests, read the provider the worker reports."""
    import requests

    from affectlens import serving

    run_dir = Path(tempfile.mkdtemp(prefix="affectlens-gpu-serve-"))
    ports = serving.free_ports(3)
    cli = [sys.executable, "-m", "affectlens.cli"]
    cmd = [
        *cli, "serve", "--run-dir", str(run_dir), "--model", str(model_dir), "--variants", "fp16",
        "--model-store", str(run_dir / "store"), "--provider", provider, "--inference-port", str(ports[0]),
        "--management-port", str(ports[1]), "--metrics-port", str(ports[2]), "--timeout", str(int(timeout_s)),
    ]  # fmt: skip
    result: dict[str, Any] = {"ok": False, "run_dir": str(run_dir)}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 60, check=False)
        result["ready_s"] = round(time.perf_counter() - start, 1)
        if proc.returncode != 0:
            result["error"] = (proc.stderr or proc.stdout)[-3000:]
            return result
        url = proc.stdout.strip().splitlines()[-1]
        token = serving.read_token(run_dir)
        texts = ["I love this!", "This is the worst day ever 😡", "The meeting is at noon.", "not bad at all", "meh"]
        answers = []
        for text in texts:
            r = requests.post(url, json={"text": text}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            answers.append((r.status_code, r.json().get("label") if r.ok else r.text[:200]))
        r = requests.post(url, json={"texts": texts}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        result["requests"] = [{"status": s, "label": label} for s, label in answers]
        result["batch_request_status"] = r.status_code
        log = run_dir / "logs" / "model_log.log"
        found = re.findall(r"affectlens handler ready: .* on (\w+ExecutionProvider)", log.read_text(errors="replace"))
        result["provider_reported"] = found[-1] if found else None
        result["ok"] = (
            all(s == 200 for s, _ in answers) and r.status_code == 200 and found[-1:] == [PROVIDER_NAMES[provider]]
        )
        if not result["ok"] and log.is_file():
            result["model_log_tail"] = log.read_text(errors="replace")[-3000:]
    except Exception as exc:  # report, do not hide: the JSON says what failed
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        subprocess.run([*cli, "stop", "--run-dir", str(run_dir)], capture_output=True, timeout=60, check=False)
        if result["ok"]:
            shutil.rmtree(run_dir, ignore_errors=True)  # a failed run keeps its logs for a look
    return result


def gpu_info() -> str | None:
    if not shutil.which("nvidia-smi"):
        return None
    proc = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def write_report(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="fp16 model folder (bench/gpu_check.sh builds it)")
    parser.add_argument("--hf", default=str(REPO / "affectlens" / "default_model" / "hf"),
                        help="Hugging Face weights for the fp32 reference (default: the shipped ones)")  # fmt: skip
    parser.add_argument("--cpu-model", default=str(REPO / "affectlens" / "default_model"),
                        help="the CPU int8 model for the speed ratio (default: the shipped one)")  # fmt: skip
    parser.add_argument("--provider", choices=["cuda", "cpu"], default="cuda", help="where fp16 runs")
    parser.add_argument("--n", type=int, default=2000, help="validation texts for the parity check")
    parser.add_argument("--data-dir", default=str(DATA), help="datasets (default: ../shared/data; else built-in)")
    parser.add_argument("--min-agreement", type=float, default=0.995)
    parser.add_argument("--latency-calls", type=int, default=300)
    parser.add_argument("--batches", type=int, default=30, help="batches of 64 for the throughput figure")
    parser.add_argument("--serve", action="store_true", help="also serve the folder through TorchServe")
    parser.add_argument("--serve-timeout", type=float, default=240.0)
    parser.add_argument("--out", default=None, help="JSON file (default: $OUT/gpu_check.json, else ./gpu_check.json)")
    args = parser.parse_args(argv)

    import onnxruntime
    from affectlens.export.onnx_export import agreement

    from affectlens.errors import AffectlensError
    from affectlens.neural import NeuralConfig, NeuralModel

    started = time.perf_counter()
    out_path = Path(args.out or Path(os.environ.get("OUT", ".")) / "gpu_check.json")
    report: dict[str, Any] = {
        "provider": args.provider, "gpu": gpu_info(), "onnxruntime": onnxruntime.__version__,
        "available_providers": onnxruntime.get_available_providers(), "python": platform.python_version(),
        "cpu_cores": os.cpu_count(),
    }  # fmt: skip
    try:
        fp16 = NeuralModel(args.model, NeuralConfig(provider=args.provider, batch_size=64))
    except AffectlensError as exc:  # e.g. CUDA requested but onnxruntime fell back to CPU
        report["error"] = exc.to_dict()
        write_report(out_path, report)
        print(f"gpu_check: FAIL: [{exc.code}] {exc.message}\nfigures: {out_path}", file=sys.stderr)
        return 1
    report["fp16_model"] = fp16.describe()
    if fp16.variant != "fp16":
        raise SystemExit(f"gpu_check: {args.model} runs the {fp16.variant} graph, not fp16: check its model card")

    # (b) parity: fp16 on the provider against fp32 PyTorch on CPU, on the same token ids
    texts, source = validation_texts(args.n, Path(args.data_dir))
    report["parity"] = {"texts": len(texts), "source": source}
    t0 = time.perf_counter()
    candidate = fp16.logits(texts)
    reference = torch_fp32_logits(Path(args.hf), fp16.encode(texts))
    parity = agreement(reference, candidate)
    report["parity"].update({k: round(v, 6) for k, v in parity.items()}, seconds=round(time.perf_counter() - t0, 1))
    parity_ok = parity["sentiment_argmax_agreement"] >= args.min_agreement

    # (c) speed: fp16 on the provider, shipped int8 on CPU (one text per call: see NeuralConfig.int8_batching)
    int8 = NeuralModel(args.cpu_model, NeuralConfig(provider="cpu"))
    report["int8_model"] = int8.describe()
    report["speed"] = {
        f"fp16_{args.provider}": speed(fp16, texts, args.latency_calls, args.batches),
        "int8_cpu": speed(int8, texts, max(20, args.latency_calls // 3), max(1, args.batches // 6)),
    }
    fast, slow = report["speed"][f"fp16_{args.provider}"], report["speed"]["int8_cpu"]
    report["speed"]["batch1_latency_ratio_int8cpu_over_fp16"] = round(slow["batch1_p50_ms"] / fast["batch1_p50_ms"], 2)
    report["speed"]["batch64_throughput_ratio_fp16_over_int8cpu"] = round(
        fast["batch64_texts_per_s"] / slow["batch64_texts_per_s"], 2
    )
    del fp16, int8  # free the GPU before the server's worker takes it

    # (d) serving
    serve_ok = True
    if args.serve:
        report["serve"] = serve_check(Path(args.model).resolve(), args.provider, args.serve_timeout)
        serve_ok = bool(report["serve"]["ok"])
    report["passed"] = {"parity": parity_ok, "serve": serve_ok if args.serve else None}
    report["seconds"] = round(time.perf_counter() - started, 1)

    # (e) the figures
    write_report(out_path, report)
    p, s = report["parity"], report["speed"]
    print(f"parity: {p['sentiment_argmax_agreement']:.4f} sentiment argmax agreement on {p['texts']} texts "
          f"({p['source']}), max |logit diff| {p['max_abs_logit_diff']:.4f} -> {'PASS' if parity_ok else 'FAIL'} "
          f"(>= {args.min_agreement})")  # fmt: skip
    print(f"speed: fp16 on {args.provider} batch-1 p50 {fast['batch1_p50_ms']} ms, batch-64 "
          f"{fast['batch64_texts_per_s']} texts/s; int8 on CPU {slow['batch1_p50_ms']} ms, "
          f"{slow['batch64_texts_per_s']} texts/s; ratios {s['batch1_latency_ratio_int8cpu_over_fp16']}x latency, "
          f"{s['batch64_throughput_ratio_fp16_over_int8cpu']}x throughput")  # fmt: skip
    if args.serve:
        srv = report["serve"]
        print(f"serve: {'PASS' if serve_ok else 'FAIL'}, provider reported {srv.get('provider_reported')}, "
              f"ready in {srv.get('ready_s')} s" + (f"\n{srv['error']}" if "error" in srv else ""))  # fmt: skip
    print(f"figures: {out_path}")
    return 0 if parity_ok and serve_ok else 1


if __name__ == "__main__":
    sys.exit(main())
