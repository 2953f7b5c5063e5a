"""Expose the sentence embedding (the pooled vector the heads read) as a second output of an ONNX graph.

The heads are one linear layer over BERT's pooled ``[CLS]`` vector (``tanh`` of the pooler). That tensor already
exists inside every graph we export (fp32, int8, fp16); naming it a graph output costs nothing at run time and
gives ``NeuralModel.forward(..., with_embeddings=True)`` the embeddings in the same pass as the logits (drift
monitoring, diversity sampling, label audits).

``python -m affectlens.export.embedding_output MODEL_DIR`` upgrades the graphs of an existing model folder in
place (the logits do not change: no node is added or altered).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from affectlens.neural import EMBEDDING_OUTPUT, MODEL_CONFIG_FILE

__all__ = ["add_embedding_output", "upgrade_model_dir"]


def _pooled_tensor(graph: Any) -> str:
    """Name of the pooler's ``tanh`` output: the classifier's input."""
    candidates = [n for n in graph.node if n.op_type == "Tanh" and "pooler" in n.name]
    if len(candidates) != 1:
        raise ValueError(f"expected one Tanh node of the BERT pooler in the graph, found {len(candidates)}")
    return str(candidates[0].output[0])


def add_embedding_output(source: str | Path, target: str | Path | None = None) -> bool:
    """Add the ``sentence_embedding`` output (batch, hidden) to the graph; False when it is already there."""
    import onnx

    model = onnx.load(str(source))
    graph = model.graph
    if any(o.name == EMBEDDING_OUTPUT for o in graph.output):
        return False
    pooled = _pooled_tensor(graph)
    logits = next(o for o in graph.output if o.name == "logits")
    batch = logits.type.tensor_type.shape.dim[0]
    hidden = next(
        (int(init.dims[0]) for init in graph.initializer if "pooler.dense.bias" in init.name and len(init.dims) == 1),
        None,
    )
    if not any(EMBEDDING_OUTPUT in n.output for n in graph.node):  # (a graph whose output was dropped keeps it)
        if _elem_type(model, pooled) == onnx.TensorProto.FLOAT:
            node = onnx.helper.make_node("Identity", [pooled], [EMBEDDING_OUTPUT], name=EMBEDDING_OUTPUT)
        else:  # an fp16 graph keeps float32 inputs and outputs (keep_io_types): so does this output
            node = onnx.helper.make_node("Cast", [pooled], [EMBEDDING_OUTPUT], name=EMBEDDING_OUTPUT,
                                         to=onnx.TensorProto.FLOAT)  # fmt: skip
        graph.node.append(node)
    shape = [batch.dim_param or batch.dim_value or "batch_size", hidden or "hidden_size"]
    graph.output.append(onnx.helper.make_tensor_value_info(EMBEDDING_OUTPUT, onnx.TensorProto.FLOAT, shape))
    onnx.checker.check_model(model)
    onnx.save(model, str(target or source))
    return True


def _elem_type(model: Any, name: str) -> int:
    """Element type of an internal tensor (shape inference on a copy of the graph)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    for info in inferred.graph.value_info:
        if info.name == name:
            return int(info.type.tensor_type.elem_type)
    raise ValueError(f"could not infer the type of {name}")


def upgrade_model_dir(model_dir: str | Path) -> dict[str, bool]:
    """Add the embedding output to every graph the folder's ``affectlens_model.json`` names."""
    folder = Path(model_dir)
    card = json.loads((folder / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    return {variant: add_embedding_output(folder / name) for variant, name in card["files"].items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("model_dir", help="a model folder made by `affectlens export`")
    args = parser.parse_args(argv)
    print(json.dumps(upgrade_model_dir(args.model_dir)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
