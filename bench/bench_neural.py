"""int8 ONNX Runtime vs PyTorch eager fp32 on the same checkpoint: batch-1 p50 latency, batch-32 throughput.

Without ``--checkpoint`` the base encoder (all-MiniLM-L6-v2) with the 31-output head is exported and
quantized on the fly: the same architecture and the same computation as the shipped model.
Needs the train extra (torch, transformers, optimum). Usage: python bench/bench_neural.py [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, latencies, p50, realistic_texts, table

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def prepare_checkpoint(path: str | None, tmp: Path) -> str:
    if path:
        return path
    from affectlens.export.train import default_base_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from affectlens.labels import NUM_OUTPUTS

    base = default_base_model()
    AutoModelForSequenceClassification.from_pretrained(base, num_labels=NUM_OUTPUTS).save_pretrained(tmp / "ckpt")
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp / "ckpt")
    return str(tmp / "ckpt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--n", type=int, default=320, help="texts for the batch-32 throughput run")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    import torch
    from affectlens.export.onnx_export import ExportConfig, export_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from affectlens.neural import NeuralConfig, NeuralModel

    torch.set_num_threads(args.threads)
    texts = realistic_texts(args.n)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        checkpoint = prepare_checkpoint(args.checkpoint, tmp)
        export_model(ExportConfig(checkpoint=checkpoint, output_dir=str(tmp / "onnx"), fp16=False))
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()

        def torch_batch(batch: list[str]) -> None:
            with torch.inference_mode():
                model(**tokenizer(batch, padding=True, truncation=True, max_length=128, return_tensors="pt"))

        def torch_all() -> None:
            for i in range(0, len(texts), 32):
                torch_batch(texts[i : i + 32])

        onnx1 = NeuralModel(tmp / "onnx", NeuralConfig(provider="cpu", batch_size=1, intra_op_threads=args.threads))
        onnx32 = NeuralModel(tmp / "onnx", NeuralConfig(provider="cpu", batch_size=32, intra_op_threads=args.threads))
        batched = NeuralConfig(provider="cpu", batch_size=32, intra_op_threads=args.threads, int8_batching=True)
        onnx32b = NeuralModel(tmp / "onnx", batched)
        torch_batch(texts[:32]), onnx32.logits(texts[:32])  # warm-up
        singles = texts[:100]
        it = iter(range(10**9))
        lat_torch = latencies(lambda: torch_batch([singles[next(it) % 100]]), 100)
        lat_onnx = latencies(lambda: onnx1.logits([singles[next(it) % 100]]), 100)
        t_torch = best_of(torch_all)
        t_onnx = best_of(lambda: onnx32.logits(texts))
        t_onnx_b = best_of(lambda: onnx32b.logits(texts))
    rows = [
        [
            "batch-1 p50 latency (ms)",
            f"{p50(lat_torch):.2f}",
            f"{p50(lat_onnx):.2f}",
            f"{p50(lat_torch) / p50(lat_onnx):.2f}x",
        ],
        [
            "batch-32 texts/s, int8 one text per call (default)",
            f"{len(texts) / t_torch:.0f}",
            f"{len(texts) / t_onnx:.0f}",
            f"{t_torch / t_onnx:.2f}x",
        ],
        [
            "batch-32 texts/s, int8 batched (int8_batching=True)",
            f"{len(texts) / t_torch:.0f}",
            f"{len(texts) / t_onnx_b:.0f}",
            f"{t_torch / t_onnx_b:.2f}x",
        ],
    ]
    table(
        f"neural: PyTorch eager fp32 vs ONNX int8 ({args.threads} threads, {len(texts)} texts of 10-30 words)",
        rows,
        ["measure", "torch fp32", "onnx int8", "speed-up"],
    )
    print("targets: >= 4x at batch 1, >= 2.5x at batch 32")


if __name__ == "__main__":
    main()
