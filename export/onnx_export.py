"""Export a fine-tuned checkpoint to an affectlens model folder: convert, validate, quantize, describe.

Steps (DESIGN §6: convert, then validate, then check structure):

1. ONNX fp32 through Hugging Face Optimum (``main_export``, task text-classification; Optimum checks the
   graph against PyTorch on its own dummy inputs with ``atol``).
2. Our own fp32 parity check on real probe texts: max |logit diff| vs PyTorch eager must be < ``atol``.
3. For CPU serving: ONNX Runtime's transformer fusions (``ORTOptimizer`` level 2: Attention,
   SkipLayerNormalization, BiasGelu), SmoothQuant on the feed-forward inputs and the first feed-forward
   down-projections kept fp32 (``int8_precision.py``: where int8 loses precision and what that costs), then
   dynamic int8 per-channel quantization of MatMul, Attention and the embedding Gather (fused attention
   becomes QAttention: faster, and closer to fp32 than quantizing the unfused graph). For GPU serving an
   fp16 graph (int8 does not run on the CUDA provider) with float32 inputs/outputs.
4. Agreement of int8 and fp16 with fp32 on the probe texts (argmax per head, emotion decisions).
5. ``affectlens_model.json``, ``tokenizer.json`` and ``export_report.json`` next to the ONNX files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affectlens.export.embedding_output import add_embedding_output

from affectlens.input_forms import input_form
from affectlens.labels import EMOTION_LABELS, EMOTION_SLICE, NUM_SENTIMENT, SENTIMENT_LABELS, output_names
from affectlens.neural import MODEL_CONFIG_FILE, NeuralConfig, NeuralModel

log = logging.getLogger("affectlens.export")

PROBE_TEXTS = (
    "I love this phone, the battery lasts forever!",
    "This is the worst service I have ever had.",
    "The meeting is at 3pm on Tuesday.",
    "not bad at all, honestly better than I expected",
    "I don't think this movie is good.",
    "Shares of the company fell 5% after the earnings report.",
    "wow 😡😡 never again",
    "Thank you so much for your help!!",
    "I'm so scared about tomorrow's surgery",
    "lol that's hilarious 😂",
)


@dataclass(frozen=True)
class ExportConfig:
    checkpoint: str
    output_dir: str
    name: str = "affectlens-minilm"
    version: str = "0.0.0"
    max_length: int = 128
    opset: int = 17
    atol: float = 1e-4
    fp16: bool = True
    int8: bool = True  # False with fp16: a GPU-only folder (no int8 graph, no int8 checks)
    keep_fp32: bool = False  # the fp32 graph is large (~90 MB); the default model ships int8 only
    probe_texts: Sequence[str] = field(default_factory=lambda: list(PROBE_TEXTS))
    data_dir: str | None = None  # if set: int8 vs fp32 on the validation splits (agreement and macro metrics)
    # The target is 0.99 and the shipped model measures 0.990 (MODEL_CARD.md); the gate leaves a retrained
    # model a little room rather than failing `make model` on a handful of near-tie texts.
    min_agreement: float = 0.985
    max_metric_drop: float = 0.005
    min_fp16_agreement: float = 1.0  # fp16 must keep every probe text's sentiment argmax (measured: it does)
    fuse: bool = True  # transformer fusions before int8 quantization (False: quantize the plain graph)
    # SmoothQuant on the feed-forward inputs (None or 0: off) and the feed-forward down-projections left in fp32:
    # 0.4.0's network needed both raised from 0.3.0's (0.65, layers 0-2: 98.33% int8 agreement) to pass the gate;
    # 0.5.0's needed alpha 0.9 (98.40% at 0.8, 98.52% at 0.9, layers 0-3). A candidate fine-tuned once more from
    # 0.5.0's weights (with surface variants, not shipped) passed at none of: 0.9 layers 0-3 (98.28%, TweetEval
    # macro recall -0.0051), 0.9 layers 0-4 (the same), 0.8 layers 0-3 (98.37%), 0.7 layers 0-5 (98.48%),
    # 0.5 layers 0-5 (98.28%): each further fine-tune may need these searched again.
    smooth_alpha: float | None = 0.9
    fp32_ffn_down_layers: tuple[int, ...] = (0, 1, 2, 3)
    # Texts for the activation ranges (JSONL with "text", or one text per line). None: holdout.jsonl next to
    # the checkpoint folder (written by `affectlens train`), else the probe texts.
    calibration_file: str | None = None
    calibration_texts: int = 600
    # A model folder whose calibration.json (and MODEL_CARD.md) is copied into the output: e.g. an fp16 graph
    # rebuilt from the shipped weights keeps the shipped calibration.
    calibration_from: str | None = None
    reference_dir: str | None = None  # with data_dir: also the new int8 graph's agreement with this model folder

    def __post_init__(self) -> None:
        if not (self.int8 or self.fp16):
            raise ValueError("nothing to export: keep int8, fp16 or both")
        if self.smooth_alpha is not None and not 0 <= self.smooth_alpha <= 1:
            raise ValueError(f"smooth_alpha must be in [0, 1] (0 or None: off), not {self.smooth_alpha}")


def _torch_logits(checkpoint: str, texts: Sequence[str], max_length: int) -> np.ndarray:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, torch_dtype=torch.float32).eval()
    form = input_form(checkpoint_heads(checkpoint)["input_form"])
    out = []
    with torch.inference_mode():
        for text in texts:  # one at a time: no padding differences
            enc = tokenizer([form(text)], truncation=True, max_length=max_length, return_tensors="pt")
            out.append(model(**enc).logits.float().numpy()[0])
    return np.stack(out)


def _onnx_logits(model_dir: Path, onnx_file: str, texts: Sequence[str]) -> np.ndarray:
    model = NeuralModel(model_dir, NeuralConfig(provider="cpu", onnx_file=onnx_file, batch_size=1))
    return model.logits(texts)


def agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Sentiment argmax agreement, emotion decision agreement (p >= 0.5) and max |logit diff|."""
    width = min(reference.shape[1], other.shape[1])  # a reference without the irony head: the common rows
    reference, other = reference[:, :width], other[:, :width]
    sent = float((reference[:, :NUM_SENTIMENT].argmax(1) == other[:, :NUM_SENTIMENT].argmax(1)).mean())
    emo = float(((reference[:, NUM_SENTIMENT:] > 0) == (other[:, NUM_SENTIMENT:] > 0)).mean())
    return {
        "sentiment_argmax_agreement": sent,
        "emotion_decision_agreement": emo,
        "max_abs_logit_diff": float(np.abs(reference - other).max()),
    }


def validate_on_splits(out: Path, files: dict[str, str], cfg: ExportConfig) -> dict[str, Any]:
    """int8 vs fp32 on TweetEval sentiment val and GoEmotions dev: agreement and macro metrics (raw heads)."""
    from affectlens.datasets import load_named
    from affectlens.evaluation.metrics import macro_recall, multilabel_macro_f1

    assert cfg.data_dir is not None
    sentiment = load_named("tweeteval-sentiment", cfg.data_dir, "val")
    emotions = load_named("goemotions", cfg.data_dir, "dev")
    texts = [r.text for r in sentiment] + [r.text for r in emotions]
    logits = {
        v: NeuralModel(out, NeuralConfig(provider="cpu", onnx_file=files[v])).logits(texts) for v in ("fp32", "int8")
    }
    y = np.array([r.sentiment for r in sentiment])
    y_emo = np.zeros((len(emotions), len(EMOTION_LABELS)), dtype=int)
    for i, r in enumerate(emotions):
        y_emo[i, list(r.emotions or ())] = 1
    n = len(sentiment)
    result: dict[str, Any] = {"texts": len(texts), **agreement(logits["fp32"], logits["int8"])}
    for variant, z in logits.items():
        result[f"{variant}.tweeteval_macro_recall"] = macro_recall(y, z[:n, :NUM_SENTIMENT].argmax(1), NUM_SENTIMENT)
        result[f"{variant}.goemotions_macro_f1@0.5"] = multilabel_macro_f1(y_emo, z[n:, EMOTION_SLICE] > 0)
    if cfg.reference_dir:
        # e.g. the shipped graph, when re-exporting from its own Hugging Face weights
        reference = NeuralModel(Path(cfg.reference_dir), NeuralConfig(provider="cpu")).logits(texts)
        result["int8_vs_reference"] = {"reference": cfg.reference_dir, **agreement(reference, logits["int8"])}
    drops = [result[f"fp32.{m}"] - result[f"int8.{m}"] for m in ("tweeteval_macro_recall", "goemotions_macro_f1@0.5")]
    result["max_metric_drop"] = max(drops)
    if result["sentiment_argmax_agreement"] < cfg.min_agreement or result["max_metric_drop"] > cfg.max_metric_drop:
        raise RuntimeError(f"int8 model fails validation: {result}")
    return result


INT8_OPERATORS = ("MatMul", "Attention", "Gather")


def calibration_texts(cfg: ExportConfig) -> tuple[list[str], str]:
    """Up to ``cfg.calibration_texts`` texts for activation ranges (a seeded sample) and where they came from."""
    path = Path(cfg.calibration_file) if cfg.calibration_file else Path(cfg.checkpoint).parent / "holdout.jsonl"
    if path.is_file():
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts = [json.loads(line)["text"] for line in lines] if path.suffix == ".jsonl" else lines
        source = str(path)
    elif cfg.calibration_file:
        raise FileNotFoundError(f"calibration file {path} not found")
    elif cfg.data_dir:
        # No training run beside the checkpoint (e.g. the shipped weights): the same hash-based hold-out rows
        # that `affectlens train` writes, rebuilt from the training splits, in the same order.
        from affectlens.export.train import TrainConfig, load_training_data

        _, holdout, _ = load_training_data(TrainConfig(data_dir=cfg.data_dir, output_dir=cfg.output_dir))
        texts, source = [r.text for r in holdout], f"hold-out rows rebuilt from {cfg.data_dir}"
    else:
        log.warning("no %s: activation ranges come from the %d probe texts", path, len(cfg.probe_texts))
        return list(cfg.probe_texts), "probe texts"
    if not texts:
        raise ValueError(f"calibration file {path} has no texts")
    if len(texts) > cfg.calibration_texts:
        keep = np.random.default_rng(0).choice(len(texts), cfg.calibration_texts, replace=False)
        texts = [texts[i] for i in sorted(keep)]
    return texts, source


def quantize_int8(onnx_dir: Path, target: Path, cfg: ExportConfig) -> dict[str, Any]:
    """Dynamic int8 (uint8 weights per channel, activations per call) of ``onnx_dir/model.onnx``.

    ``onnx_dir`` also holds the tokenizer. Returns the quantization section of the export report.
    """
    import onnx
    from affectlens.export.int8_precision import prepare_for_int8
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from optimum.onnxruntime import ORTOptimizer
    from optimum.onnxruntime.configuration import OptimizationConfig

    source = onnx_dir / "model.onnx"
    if cfg.fuse:
        optimizer = ORTOptimizer.from_pretrained(onnx_dir, file_names=["model.onnx"])
        optimizer.optimize(OptimizationConfig(optimization_level=2, optimize_for_gpu=False), onnx_dir / "fused")
        source = onnx_dir / "fused" / "model_optimized.onnx"
    texts, text_source = calibration_texts(cfg) if cfg.smooth_alpha else ([], "")
    form = input_form(checkpoint_heads(cfg.checkpoint)["input_form"])
    texts = [form(t) for t in texts]
    prepared = onnx_dir / "model_int8_input.onnx"
    precision = prepare_for_int8(
        source,
        prepared,
        onnx_dir / "tokenizer.json",
        texts,
        cfg.max_length,
        cfg.smooth_alpha,
        cfg.fp32_ffn_down_layers,
    )
    quantize_dynamic(
        str(prepared),
        str(target),
        per_channel=True,
        weight_type=QuantType.QUInt8,
        op_types_to_quantize=list(INT8_OPERATORS),
        nodes_to_exclude=precision["fp32_nodes"],
        # Shape inference cannot type the outputs of fused (com.microsoft) operators; they are float32.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return {
        "mode": "dynamic",
        "per_channel": True,
        "weights": "uint8",
        "operators": list(INT8_OPERATORS),
        "fused": cfg.fuse,
        **precision,
        "calibration_source": text_source,
    }


def checkpoint_heads(checkpoint: str) -> dict[str, Any]:
    """What the checkpoint's ``config.json`` says about the heads and input form (written by ``affectlens train``)."""
    config = json.loads((Path(checkpoint) / "config.json").read_text(encoding="utf-8"))
    names = [config.get("id2label", {}).get(str(i)) for i in range(len(config.get("id2label", {})))]
    return {"irony": names == output_names(irony=True), "input_form": config.get("affectlens_input_form")}


def write_model_card(out: Path, cfg: ExportConfig, files: dict[str, str]) -> None:
    heads = checkpoint_heads(cfg.checkpoint)
    card = {
        "name": cfg.name,
        "version": cfg.version,
        "sentiment_labels": list(SENTIMENT_LABELS),
        "emotion_labels": list(EMOTION_LABELS),
        "max_length": cfg.max_length,
        "files": files,
        **({"irony": True} if heads["irony"] else {}),
        **({"input_form": heads["input_form"]} if heads["input_form"] else {}),
    }
    (out / MODEL_CONFIG_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def copy_calibration(source: Path, out: Path) -> None:
    """Copy ``calibration.json`` (required) and ``MODEL_CARD.md`` (if any) from another model folder."""
    if not (source / "calibration.json").is_file():
        raise FileNotFoundError(
            f"{source / 'calibration.json'} not found: --calibration-from needs a calibrated folder"
        )
    for name in ("calibration.json", "MODEL_CARD.md"):
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)


def export_model(cfg: ExportConfig) -> dict[str, Any]:
    """Run the whole export; returns (and writes) the export report. Raises if a validation fails."""
    try:
        import onnx
        from optimum.exporters.onnx import main_export
    except ImportError as exc:
        raise RuntimeError("export needs the `train` extra: pip install 'affectlens[train]' (optimum-onnx)") from exc

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"config": {k: v for k, v in asdict(cfg).items() if k != "probe_texts"}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        main_export(
            cfg.checkpoint,
            output=tmp,
            task="text-classification",
            opset=cfg.opset,
            atol=cfg.atol,
            do_validation=True,
            library_name="transformers",
        )
        onnx.checker.check_model(str(tmp / "model.onnx"))
        add_embedding_output(tmp / "model.onnx")  # int8 and fp16 graphs are built from it and keep the output
        shutil.copy(tmp / "model.onnx", out / "model_fp32.onnx")
        shutil.copy(tmp / "tokenizer.json", out / "tokenizer.json")
        files = {"fp32": "model_fp32.onnx"}
        write_model_card(out, cfg, files)

        reference = _torch_logits(cfg.checkpoint, cfg.probe_texts, cfg.max_length)
        fp32 = _onnx_logits(out, "model_fp32.onnx", cfg.probe_texts)
        diff = float(np.abs(reference - fp32).max())
        report["fp32_vs_torch"] = agreement(reference, fp32)
        if diff >= cfg.atol:
            raise RuntimeError(f"fp32 ONNX differs from PyTorch by {diff:.2e} >= atol {cfg.atol:.0e}")

        if cfg.int8:
            report["quantization"] = quantize_int8(tmp, out / "model_int8.onnx", cfg)
            files["int8"] = "model_int8.onnx"
        if cfg.fp16:
            from onnxruntime.transformers.float16 import convert_float_to_float16

            fp16_model = convert_float_to_float16(onnx.load(str(tmp / "model.onnx")), keep_io_types=True)
            onnx.save(fp16_model, str(out / "model_fp16.onnx"))
            files["fp16"] = "model_fp16.onnx"
        write_model_card(out, cfg, files)

    for variant in ("int8", "fp16"):
        if variant in files:
            logits = _onnx_logits(out, files[variant], cfg.probe_texts)
            report[f"{variant}_vs_fp32"] = agreement(fp32, logits)
    if "fp16" in files and report["fp16_vs_fp32"]["sentiment_argmax_agreement"] < cfg.min_fp16_agreement:
        raise RuntimeError(f"fp16 graph disagrees with fp32 on the probe texts: {report['fp16_vs_fp32']}")
    if cfg.data_dir and cfg.int8:
        report["int8_vs_fp32_validation"] = validate_on_splits(out, files, cfg)
    if cfg.calibration_from:
        copy_calibration(Path(cfg.calibration_from), out)
    if not cfg.keep_fp32:
        (out / "model_fp32.onnx").unlink()  # after every check that needs it
        del files["fp32"]
        write_model_card(out, cfg, files)
    report["files"] = {name: (out / f).stat().st_size for name, f in files.items()}
    (out / "export_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    from affectlens.tracking import log_model_folder

    log_model_folder(out, run_name=f"export {out.name}")  # only when MLFLOW_TRACKING_URI is set
    return report
