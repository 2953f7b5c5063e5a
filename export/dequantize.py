"""Recover Hugging Face weights from an affectlens int8 ONNX graph (fused BERT, dynamic int8, SmoothQuant).

Why: the fine-tuned fp32 checkpoint of a shipped model can be lost (machines are not kept), while the int8
graph is always in the repository. Every weight of the graph is either stored in fp32 (biases, LayerNorms,
fp32-kept projections) or as per-channel / per-tensor uint8 with a scale and zero point, so
``(q - zero_point) * scale`` gives back the weight the int8 graph computes with. What is undone on the way:

* ONNX Runtime's attention fusion: the QAttention weight is ``[Wq | Wk | Wv]`` (in, 3*out) and is split again;
* SmoothQuant: the graph divides feed-forward inputs by s (an explicit ``Mul`` by 1/s) and multiplies weight
  row j by s_j, so the original row is the dequantized row times (1/s)_j;
* ONNX MatMul weights are (in, out); ``torch.nn.Linear`` stores (out, in).

The result is the network the int8 graph approximates *up to weight rounding* (activation rounding is per call
and does not live in the weights): a PyTorch forward pass of the recovered weights is the int8 graph without
activation quantization. ``recover_hf_folder`` writes a ``BertForSequenceClassification`` folder
(config.json, model.safetensors, tokenizer files) that ``transformers`` and ``affectlens export`` /
``affectlens train --base-model`` load. Usage:

    python -m affectlens.export.dequantize affectlens/default_model -o affectlens/default_model/hf
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.labels import output_names

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


class _Graph:
    """Initializers and nodes of an ONNX graph, with dequantization of quantized initializers."""

    def __init__(self, path: Path) -> None:
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        self.nodes = list(model.graph.node)
        self.arrays: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.by_name = {n.name: n for n in self.nodes}

    def weight(self, name: str) -> np.ndarray:
        """An fp32 initializer as is, or ``name_quantized`` dequantized with its scale and zero point."""
        base = name.removesuffix("_quantized")
        if f"{base}_quantized" not in self.arrays:
            return self.arrays[name].astype(np.float32)
        q = self.arrays[f"{base}_quantized"].astype(np.float32)
        scale = self.arrays[f"{base}_scale"].astype(np.float32)
        zero = self.arrays[f"{base}_zero_point"].astype(np.float32)
        if scale.ndim == 0 or scale.size == 1:  # per tensor
            return (q - zero.reshape(())) * scale.reshape(())
        return (q - zero[None, :]) * scale[None, :]  # per output channel (last axis of an (in, out) weight)

    def node(self, name: str) -> Any:
        if name not in self.by_name:
            raise ValueError(f"node {name!r} not found: this graph is not an affectlens fused BERT export")
        return self.by_name[name]

    def matmul_weight(self, prefix: str) -> np.ndarray:
        """Weight (in, out) of the MatMul named ``prefix`` (int8 ``{prefix}_quant`` or fp32 ``{prefix}``)."""
        if prefix + "_quant" in self.by_name:
            return self.weight(self.by_name[prefix + "_quant"].input[1])
        return self.weight(self.node(prefix).input[1])

    def producer(self, output: str) -> Any | None:
        return next((n for n in self.nodes if output in n.output), None)


def _linear(weight_in_out: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(weight_in_out.T), bias.astype(np.float32)


def _smoothquant_inverse(graph: _Graph, matmul_input: str) -> np.ndarray | None:
    """1/s of a SmoothQuant ``Mul`` in front of a quantized MatMul's input, or None without SmoothQuant."""
    quantize = graph.producer(matmul_input)
    if quantize is None or quantize.op_type != "DynamicQuantizeLinear":
        return None
    mul = graph.producer(quantize.input[0])
    if mul is None or mul.op_type != "Mul" or not mul.name.startswith("SmoothQuantMul"):
        return None
    return graph.weight(mul.input[1])


def recover_state_dict(onnx_path: Path) -> dict[str, np.ndarray]:
    """Hugging Face ``BertForSequenceClassification`` state dict (numpy fp32) from an int8 affectlens graph."""
    g = _Graph(onnx_path)
    sd: dict[str, np.ndarray] = {}
    for part in ("word", "position", "token_type"):
        sd[f"bert.embeddings.{part}_embeddings.weight"] = g.weight(
            f"bert.embeddings.{part}_embeddings.weight_quantized"
        )
    sd["bert.embeddings.LayerNorm.weight"] = g.weight("bert.embeddings.LayerNorm.weight")
    sd["bert.embeddings.LayerNorm.bias"] = g.weight("bert.embeddings.LayerNorm.bias")
    attention = sorted((n for n in g.nodes if n.op_type == "QAttention"), key=lambda n: int(n.name.split("_")[1]))
    if not attention:
        raise ValueError(f"{onnx_path}: no QAttention nodes; only fused int8 affectlens graphs can be recovered")
    for layer, node in enumerate(attention):
        p = f"bert.encoder.layer.{layer}"
        qkv = g.weight(node.input[1])
        bias = g.weight(node.input[2])
        hidden = qkv.shape[0]
        for k, name in enumerate(("query", "key", "value")):
            w, b = _linear(qkv[:, k * hidden : (k + 1) * hidden], bias[k * hidden : (k + 1) * hidden])
            sd[f"{p}.attention.self.{name}.weight"], sd[f"{p}.attention.self.{name}.bias"] = w, b
        sd[f"{p}.attention.output.dense.weight"], _ = _linear(
            g.matmul_weight(f"/bert/encoder/layer.{layer}/attention/output/dense/MatMul"), np.zeros(0)
        )
        up_prefix = f"/bert/encoder/layer.{layer}/intermediate/dense/MatMul"
        up = g.matmul_weight(up_prefix)
        inverse = (
            _smoothquant_inverse(g, g.node(up_prefix + "_quant").input[0])
            if up_prefix + "_quant" in g.by_name
            else None
        )
        if inverse is not None:
            up = up * inverse[:, None]
        sd[f"{p}.intermediate.dense.weight"] = np.ascontiguousarray(up.T)
        sd[f"{p}.output.dense.weight"] = np.ascontiguousarray(
            g.matmul_weight(f"/bert/encoder/layer.{layer}/output/dense/MatMul").T
        )
        for name in (
            "attention.output.dense.bias",
            "attention.output.LayerNorm.weight",
            "attention.output.LayerNorm.bias",
            "intermediate.dense.bias",
            "output.dense.bias",
            "output.LayerNorm.weight",
            "output.LayerNorm.bias",
        ):
            sd[f"{p}.{name}"] = g.weight(f"{p}.{name}")
    sd["bert.pooler.dense.weight"] = np.ascontiguousarray(g.weight("bert.pooler.dense.weight_Transposed_quantized").T)
    sd["bert.pooler.dense.bias"] = g.weight("bert.pooler.dense.bias")
    sd["classifier.weight"] = np.ascontiguousarray(g.weight("classifier.weight_Transposed_quantized").T)
    sd["classifier.bias"] = g.weight("classifier.bias")
    return sd


def hf_config(base_config: dict[str, Any], num_layers: int, card: dict[str, Any]) -> dict[str, Any]:
    """The base encoder's config.json as our sequence classifier: the output rows named as the model card says
    (31, or 32 with the irony head) and the network's input form."""
    labels = output_names(irony=bool(card.get("irony", False)))
    config = {k: v for k, v in base_config.items() if not k.startswith("_")}
    config.update(
        architectures=["BertForSequenceClassification"],
        num_hidden_layers=num_layers,
        id2label={str(i): name for i, name in enumerate(labels)},
        label2id={name: i for i, name in enumerate(labels)},
        problem_type="multi_label_classification",
        torch_dtype="float16",
        affectlens_input_form=card.get("input_form"),
    )
    return config


def recover_hf_folder(model_dir: Path, output_dir: Path, base_model: Path, dtype: str = "float16") -> Path:
    """Write ``output_dir`` (config.json, model.safetensors, tokenizer files) from ``model_dir``'s int8 graph."""
    from safetensors.numpy import save_file

    card = json.loads((model_dir / "affectlens_model.json").read_text(encoding="utf-8"))
    state = recover_state_dict(model_dir / card["files"]["int8"])
    num_layers = sum(1 for k in state if k.endswith("attention.self.query.weight"))
    base_config = json.loads((base_model / "config.json").read_text(encoding="utf-8"))
    output_dir.mkdir(parents=True, exist_ok=True)
    config = hf_config(base_config, num_layers, card)
    config["torch_dtype"] = dtype
    (output_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    np_dtype = np.float16 if dtype == "float16" else np.float32
    save_file({k: v.astype(np_dtype) for k, v in state.items()}, str(output_dir / "model.safetensors"))
    for name in TOKENIZER_FILES:
        source = model_dir / name if (model_dir / name).is_file() else base_model / name
        shutil.copy2(source, output_dir / name)
    return output_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, help="affectlens model folder with an int8 graph")
    parser.add_argument("-o", "--output-dir", type=Path, required=True)
    parser.add_argument("--base-model", type=Path, default=None, help="base encoder folder (config, tokenizer files)")
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    args = parser.parse_args(argv)
    from affectlens.export.train import default_base_model

    base = args.base_model or Path(default_base_model())
    print(recover_hf_folder(args.model_dir, args.output_dir, base, args.dtype))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
