"""The network's weights in Hugging Face format (``default_model/hf``): loadable, the card's heads, re-exportable;
and the tool that recovers such weights from an int8 graph (``export/dequantize.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affectlens.export.onnx_export import PROBE_TEXTS

from affectlens.engine import default_model_dir
from affectlens.input_forms import input_form
from affectlens.labels import output_names
from affectlens.neural import ModelCard

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
    form = input_form(getattr(model.config, "affectlens_input_form", None))
    with torch.inference_mode():
        return np.stack([model(**tokenizer([form(t)], return_tensors="pt")).logits[0].numpy() for t in texts])


def test_encoder_and_classifier_load_with_transformers_with_the_cards_heads() -> None:
    transformers = pytest.importorskip("transformers")
    encoder = transformers.AutoModel.from_pretrained(HF_DIR)
    assert encoder.config.hidden_size == 384 and encoder.config.num_hidden_layers == 6
    card = ModelCard.read(default_model_dir())
    config = transformers.AutoConfig.from_pretrained(HF_DIR)
    assert [config.id2label[i] for i in range(len(config.id2label))] == output_names(irony=card.irony)
    assert getattr(config, "affectlens_input_form", None) == card.input_form


def test_shipped_weights_are_stored_in_fp16() -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(HF_DIR / "model.safetensors"))
    assert {str(v.dtype) for v in weights.values()} == {"float16"}
    assert weights["classifier.weight"].shape[0] == len(output_names(irony=ModelCard.read(default_model_dir()).irony))


def test_hf_weights_predict_like_the_shipped_int8_graph() -> None:
    from affectlens.neural import NeuralConfig, NeuralModel

    reference = NeuralModel(default_model_dir(), NeuralConfig(provider="cpu")).logits(SENTENCES)
    logits = _torch_logits(HF_DIR, SENTENCES)
    agree = (reference[:, :3].argmax(1) == logits[:, :3].argmax(1)).mean()
    assert agree >= 0.95, agree  # fp16 weights vs int8 graph (README: the measured agreement on validation)
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
