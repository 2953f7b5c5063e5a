"""The network's weights in Hugging Face format: recovered from the int8 graph, loadable, re-exportable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affectlens.export.onnx_export import PROBE_TEXTS

from affectlens.engine import default_model_dir
from affectlens.labels import EMOTION_LABELS, NUM_OUTPUTS, SENTIMENT_LABELS

HF_DIR = default_model_dir() / "hf"
SENTENCES = [
    *PROBE_TEXTS,
    "The hotel was clean but the staff were rude.",
    "What a waste of money.",
    "The package arrived on Monday.",
    "Absolutely delighted with the result.",
    "I guess it's fine, nothing special.",
    "Never buying from them again.",
    "The new update fixed every bug I had.",
    "Profits rose 12 percent in the third quarter.",
    "He said the movie starts at eight.",
    "I am so disappointed in this team.",
]


def _torch_logits(folder: Path, texts: list[str]) -> np.ndarray:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, torch_dtype=torch.float32).eval()
    with torch.inference_mode():
        return np.stack([model(**tokenizer([t], return_tensors="pt")).logits[0].numpy() for t in texts])


def test_encoder_and_classifier_load_with_transformers() -> None:
    transformers = pytest.importorskip("transformers")
    encoder = transformers.AutoModel.from_pretrained(HF_DIR)
    assert encoder.config.hidden_size == 384 and encoder.config.num_hidden_layers == 6
    config = transformers.AutoConfig.from_pretrained(HF_DIR)
    names = [config.id2label[i] for i in range(NUM_OUTPUTS)]
    assert names == [f"sentiment:{n}" for n in SENTIMENT_LABELS] + [f"emotion:{n}" for n in EMOTION_LABELS]


def test_shipped_weights_are_the_dequantized_int8_graph() -> None:
    pytest.importorskip("onnx")
    from affectlens.export.dequantize import recover_state_dict
    from safetensors.numpy import load_file

    shipped = load_file(str(HF_DIR / "model.safetensors"))
    recovered = recover_state_dict(default_model_dir() / "model_int8.onnx")
    assert set(shipped) == set(recovered)
    for name, value in recovered.items():
        assert np.array_equal(shipped[name], value.astype(np.float16)), name


def test_hf_weights_predict_like_the_shipped_int8_graph() -> None:
    from affectlens.neural import NeuralConfig, NeuralModel

    reference = NeuralModel(default_model_dir(), NeuralConfig(provider="cpu")).logits(SENTENCES)
    logits = _torch_logits(HF_DIR, SENTENCES)
    agree = (reference[:, :3].argmax(1) == logits[:, :3].argmax(1)).mean()
    assert agree >= 0.95, agree  # measured 99.5 % on 400 TweetEval validation texts (README)
    assert np.sqrt(((reference - logits) ** 2).mean()) < 0.15


@pytest.mark.slow
def test_dequantize_inverts_the_export_of_a_tiny_model(tiny_checkpoint: Path, tiny_model_dir: Path) -> None:
    """Every recovered weight is within rounding of the fine-tuned weight it was quantized from."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from affectlens.export.dequantize import recover_state_dict

    original = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_checkpoint / "best")
    truth = {k: v.detach().numpy() for k, v in original.state_dict().items() if "position_ids" not in k}
    recovered = recover_state_dict(tiny_model_dir / "model_int8.onnx")
    assert set(recovered) == set(truth)
    for name, value in recovered.items():
        want = truth[name]
        assert value.shape == want.shape, name
        step = (want.max() - want.min()) / 255 if want.size > 1 else 0.0
        # per-channel rounding is at most half a step of the channel's range (SmoothQuant rescales rows: x2 slack)
        assert np.abs(value - want).max() <= step + 1e-6, (name, np.abs(value - want).max(), step)
    with torch.inference_mode():
        ids = torch.tensor([[2, 5, 6, 7, 3]])
        original.load_state_dict({k: torch.from_numpy(v) for k, v in recovered.items()}, strict=False)
        assert torch.isfinite(original(input_ids=ids).logits).all()


@pytest.mark.slow
def test_export_from_the_shipped_weights_reproduces_the_int8_graph(tmp_path: Path) -> None:
    pytest.importorskip("optimum.exporters.onnx")
    from affectlens.export.onnx_export import ExportConfig, export_model

    from affectlens.neural import NeuralConfig, NeuralModel

    texts = tmp_path / "calibration.txt"
    texts.write_text("\n".join(SENTENCES * 3) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    export_model(
        ExportConfig(
            checkpoint=str(HF_DIR),
            output_dir=str(out),
            fp16=False,
            calibration_file=str(texts),
            calibration_from=str(default_model_dir()),
        )
    )
    assert (out / "calibration.json").is_file()
    shipped = NeuralModel(default_model_dir(), NeuralConfig(provider="cpu")).logits(SENTENCES)
    rebuilt = NeuralModel(out, NeuralConfig(provider="cpu")).logits(SENTENCES)
    assert (shipped[:, :3].argmax(1) == rebuilt[:, :3].argmax(1)).mean() >= 0.95
