"""Train a tiny model a few steps, export it (fp32 check, int8, fp16), and run it through neural.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from affectlens.errors import ConfigError, ModelNotFoundError
from affectlens.labels import EMOTION_LABELS, NUM_OUTPUTS, SENTIMENT_LABELS
from affectlens.neural import NeuralConfig, NeuralModel

pytest.importorskip("optimum.exporters.onnx")
pytestmark = pytest.mark.slow


def test_training_writes_holdout_disjoint_from_training(tiny_checkpoint: Path) -> None:
    summary = json.loads((tiny_checkpoint / "training_summary.json").read_text())
    holdout = [json.loads(line) for line in (tiny_checkpoint / "holdout.jsonl").read_text().splitlines()]
    assert summary["holdout_rows"] == len(holdout) > 0
    assert "tweeteval-sentiment.macro_recall" in summary["best"]


def test_export_validates_parity_and_writes_all_variants(tiny_model_dir: Path) -> None:
    report = json.loads((tiny_model_dir / "export_report.json").read_text())
    assert report["fp32_vs_torch"]["max_abs_logit_diff"] < 1e-4
    assert report["int8_vs_fp32"]["sentiment_argmax_agreement"] >= 0.9
    assert report["fp16_vs_fp32"]["sentiment_argmax_agreement"] >= 0.9
    card = json.loads((tiny_model_dir / "affectlens_model.json").read_text())
    assert card["sentiment_labels"] == list(SENTIMENT_LABELS) and card["emotion_labels"] == list(EMOTION_LABELS)
    assert set(card["files"]) == {"fp32", "int8", "fp16"}
    assert report["quantization"]["fused"] is True


def test_int8_graph_is_fused_and_quantized(tiny_model_dir: Path) -> None:
    """The CPU graph runs ONNX Runtime's fused, quantized attention (the speed and agreement choice)."""
    onnx = pytest.importorskip("onnx")
    ops = {node.op_type for node in onnx.load(str(tiny_model_dir / "model_int8.onnx")).graph.node}
    assert "QAttention" in ops and "SkipLayerNormalization" in ops
    assert "DynamicQuantizeMatMul" in ops or "MatMulInteger" in ops


def test_int8_precision_choices_are_applied(tiny_model_dir: Path) -> None:
    """SmoothQuant scales feed the up-projections; the first down-projections stay fp32 (int8_precision.py)."""
    onnx = pytest.importorskip("onnx")
    quant = json.loads((tiny_model_dir / "export_report.json").read_text())["quantization"]
    assert quant["calibration_source"].endswith("holdout.jsonl")
    nodes = onnx.load(str(tiny_model_dir / "model_int8.onnx")).graph.node
    smooth_outputs = {n.output[0] for n in nodes if n.name.startswith("SmoothQuantMul_")}
    up = [n for n in nodes if n.name.endswith("/intermediate/dense/MatMul_quant")]  # quantized up-projections
    assert len(smooth_outputs) == quant["smoothquant"]["nodes"] == len(up) == 2  # the tiny encoder has two layers
    assert all(n.input[0].startswith(tuple(smooth_outputs)) for n in up)  # int8 of the smoothed input
    down = [n for n in nodes if n.name.endswith("/layer.0/output/dense/MatMul")]
    assert [n.op_type for n in down] == ["MatMul"] and quant["fp32_nodes"]


def test_smoothquant_keeps_fp32_outputs(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The migration is exact in fp32: only the int8 rounding may change the logits."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from affectlens.export.int8_precision import encode_feeds, prepare_for_int8

    source = tiny_model_dir / "model_fp32.onnx"
    texts = ["i love this", "the meeting is at noon today", "so bad, not good at all"]
    info = prepare_for_int8(source, tmp_path / "smoothed.onnx", tiny_model_dir / "tokenizer.json", texts, 64, 0.5, ())
    assert info["smoothquant"]["nodes"] == 2 and info["fp32_nodes"] == []
    feeds = encode_feeds(onnx.load(str(source)), tiny_model_dir / "tokenizer.json", texts, 64)
    before = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    after = ort.InferenceSession(str(tmp_path / "smoothed.onnx"), providers=["CPUExecutionProvider"])
    weights = {i.name: i for i in onnx.load(str(tmp_path / "smoothed.onnx")).graph.initializer}
    assert any(name.startswith("smoothquant_inverse_scale_") for name in weights)
    for feed in feeds:
        np.testing.assert_allclose(after.run(None, feed)[0], before.run(None, feed)[0], atol=1e-4)


@pytest.mark.parametrize("variant", ["fp32", "int8", "fp16"])
def test_runtime_shapes_and_batch_equals_single(tiny_model_dir: Path, variant: str) -> None:
    model = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", onnx_file=f"model_{variant}.onnx"))
    texts = ["i love this", "the meeting is at noon today and the train leaves at six", "so bad"]
    batch = model.logits(texts)
    single = np.stack([model.logits([t])[0] for t in texts])
    assert batch.shape == (3, NUM_OUTPUTS)
    # fp32/fp16 are exact; int8 dynamic quantization scales activations per batch (documented tolerance).
    atol = 0.05 if variant == "int8" else 1e-5
    np.testing.assert_allclose(batch, single, atol=atol)
    assert (batch[:, :3].argmax(1) == single[:, :3].argmax(1)).all()


def test_sleeping_threads_give_the_same_logits(tiny_model_dir: Path) -> None:
    texts = ["i love this", "so bad"]
    spinning = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", intra_op_threads=2)).logits(texts)
    sleeping = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", intra_op_threads=2, spin_wait=False))
    np.testing.assert_array_equal(sleeping.logits(texts), spinning)


def test_runtime_bad_inputs(tiny_model_dir: Path) -> None:
    model = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu"))
    assert model.logits([]).shape == (0, NUM_OUTPUTS)
    long_text = "great " * 5000  # far beyond max_length: truncated, not an error
    assert np.isfinite(model.logits([long_text])).all()
    assert model.variant == "int8"


def test_runtime_config_errors(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        NeuralConfig(provider="tpu")
    with pytest.raises(ModelNotFoundError):
        NeuralModel(tmp_path)
    with pytest.raises(ModelNotFoundError):
        NeuralModel(tiny_model_dir, NeuralConfig(onnx_file="missing.onnx"))


def test_training_reduces_the_losses(tiny_checkpoint: Path) -> None:
    """The masked multi-task loss must go down on the fixture for both heads (catches a broken loss)."""
    summary = json.loads((tiny_checkpoint / "training_summary.json").read_text())
    first, last = summary["history"][0], summary["history"][-1]
    assert last["train.loss_sentiment"] < first["train.loss_sentiment"]
    assert last["train.loss_emotion"] < first["train.loss_emotion"]


def test_int8_batching_is_opt_in(tiny_model_dir: Path) -> None:
    texts = ["i love this", "the meeting is at noon today and the train leaves at six", "so bad"]
    exact = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu"))
    assert exact.run_batch_size == 1
    np.testing.assert_array_equal(exact.logits(texts)[1], exact.logits(texts[1:2])[0])
    batched = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", int8_batching=True, batch_size=8))
    assert batched.run_batch_size == 8
